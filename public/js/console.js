// The console's one script: "select every row on this page". Every page works without it.
document.addEventListener('DOMContentLoaded', () => {
  for (const all of document.querySelectorAll('input.select-page')) {
    const form = all.closest('form');
    const rows = () => Array.from(form.querySelectorAll('input[type="checkbox"][name="ids"]'));
    all.hidden = false;
    all.addEventListener('change', () => rows().forEach((box) => { box.checked = all.checked; }));
    form.addEventListener('change', (e) => {
      if (e.target === all) return;
      const boxes = rows();
      all.checked = boxes.length > 0 && boxes.every((b) => b.checked);
      all.indeterminate = !all.checked && boxes.some((b) => b.checked);
    });
  }
});
