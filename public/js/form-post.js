// Submits the token hand-off form as soon as the page loads; the button is the no-JavaScript fallback.
document.querySelectorAll('form[data-autosubmit]').forEach(function (form) {
  form.submit();
});
