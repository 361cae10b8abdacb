import request from 'supertest';
import type { TestGatehouse } from './gatehouse.ts';
import { CLI_CONTEXT } from '../../src/services/context.ts';

/** A management key made through the same service as `gatehouse api-keys create`. */
export async function managementKey(gh: TestGatehouse, realm: string | null, access: 'read' | 'write' = 'write'): Promise<string> {
  const { secret } = await gh.management!.keys.create({ realmId: realm, access, name: `test ${realm ?? '*'} ${access}` }, CLI_CONTEXT);
  return secret;
}

/** An API client for one key: api.get('/realms/alpha/users'). */
export function apiClient(gh: TestGatehouse, key: string) {
  const auth = (r: request.Test) => r.set('Authorization', `Bearer ${key}`);
  return {
    get: (path: string) => auth(request(gh.app).get(`/api/v1${path}`)),
    post: (path: string, body?: unknown) => auth(request(gh.app).post(`/api/v1${path}`)).send(body as object),
    patch: (path: string, body?: unknown) => auth(request(gh.app).patch(`/api/v1${path}`)).send(body as object),
    delete: (path: string) => auth(request(gh.app).delete(`/api/v1${path}`)),
  };
}
