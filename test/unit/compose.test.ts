/**
 * docker-compose.yml cannot be run here (no Docker on these machines): it is
 * checked instead against what Gatehouse reads. Every variable a Gatehouse
 * service sets is one the schema knows, the set passes the schema as a whole
 * (with the secrets the file takes from .env filled in), the realms file it
 * mounts is valid, and nginx sends traffic to every Gatehouse service.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { envSchema, ENV_KEYS } from '../../src/config/schema.ts';
import { parseFileConfig } from '../../src/config/index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { build?: string; image?: string; environment?: Record<string, string>; volumes?: string[]; depends_on?: unknown }>;
};
const gatehouses = Object.entries(compose.services).filter(([, s]) => s.build === '.');

/** `${NAME:?message}` and `${NAME}` as Compose fills them from .env: a stand-in of the right shape. */
const fromDotEnv = (value: string) => value.replace(/\$\{([A-Z_]+)(:\?[^}]*)?\}/g, (_m, name: string) => (name === 'SESSION_SECRET' ? 's'.repeat(48) : `value-of-${name}`));

describe('docker-compose.yml', () => {
  it('runs two Gatehouse instances, MongoDB, Redis, an SMTP catcher and a proxy', () => {
    expect(gatehouses.map(([name]) => name)).toEqual(['gatehouse-1', 'gatehouse-2']);
    expect(compose.services.mongo?.image).toMatch(/^mongo:/);
    expect(compose.services.redis?.image).toMatch(/^redis:/);
    expect(compose.services.mailpit?.image).toMatch(/mailpit/);
    expect(compose.services.proxy?.image).toMatch(/^nginx:/);
  });

  it('sets only variables the configuration schema knows, and a set it accepts', () => {
    for (const [, service] of gatehouses) {
      const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, fromDotEnv(String(v))]));
      expect(Object.keys(env).filter((k) => !ENV_KEYS.includes(k))).toEqual([]);
      const parsed = envSchema.safeParse(env);
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
      // Stateless: the store in MongoDB, sessions and limits in Redis, one secret for all.
      expect(env).toMatchObject({ MONGODB_URL: expect.stringContaining('replicaSet='), REDIS_URL: expect.stringMatching(/^redis:/), SESSION_SECRET: 's'.repeat(48) });
    }
  });

  it('mounts a realms file that is valid, at the path GATEHOUSE_CONFIG names', () => {
    for (const [, service] of gatehouses) {
      const mount = service.volumes?.map((v) => v.split(':')).find(([, target]) => target === service.environment?.GATEHOUSE_CONFIG);
      expect(mount, 'a volume at GATEHOUSE_CONFIG').toBeDefined();
      const file = JSON.parse(readFileSync(path.join(ROOT, mount![0]!), 'utf8'));
      expect(parseFileConfig(file).realms[0]?.publicUrl).toBe('http://localhost:8080');
    }
  });

  it('lets nginx balance over every Gatehouse instance, passing the host and overwriting X-Forwarded-For', () => {
    const nginx = readFileSync(path.join(ROOT, 'deploy/nginx.conf'), 'utf8');
    for (const [name] of gatehouses) expect(nginx).toContain(`server ${name}:3000;`);
    expect(nginx).toContain('proxy_set_header Host $http_host;');
    expect(nginx).toContain('proxy_set_header X-Forwarded-For $remote_addr;');
  });
});
