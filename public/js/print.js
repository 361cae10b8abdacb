// The recovery codes' Print button: shown only where it works (with JavaScript); the print stylesheet shows just the codes.
document.querySelectorAll('button[data-print]').forEach(function (button) {
  button.hidden = false;
  button.addEventListener('click', function () {
    window.print();
  });
});
