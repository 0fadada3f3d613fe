/* 登记手册 on a phone: keep what was typed in the quick form on the phone until it is sent
   (localStorage, one key per kind), warn when offline, and submit selects marked data-auto-submit.
   No inline handlers; the page works without this file. */
(function () {
  "use strict";

  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "csrfmiddlewaretoken" && el.name !== "kind" && el.type !== "file" &&
        el.type !== "submit" && el.type !== "button";
    });
  }

  function save(form, key) {
    var data = {};
    fields(form).forEach(function (el) {
      if (el.type === "checkbox") { data[el.name] = el.checked; }
      else if (el.type === "radio") { if (el.checked) { data[el.name] = el.value; } }
      else { data[el.name] = el.value; }
    });
    try { localStorage.setItem(key, JSON.stringify(data)); } catch (e) { /* storage full or blocked */ }
  }

  function restore(form, key) {
    var raw;
    try { raw = localStorage.getItem(key); } catch (e) { return false; }
    if (!raw) { return false; }
    var data;
    try { data = JSON.parse(raw); } catch (e) { return false; }
    var changed = false;
    fields(form).forEach(function (el) {
      if (!(el.name in data)) { return; }
      if (el.type === "checkbox") { changed = changed || el.checked !== data[el.name]; el.checked = !!data[el.name]; }
      else if (el.type === "radio") { el.checked = el.value === data[el.name]; }
      else if (el.name !== "day" && el.value !== data[el.name]) { el.value = data[el.name]; changed = true; }
    });
    return changed;
  }

  document.querySelectorAll("form[data-offline-key]").forEach(function (form) {
    var key = form.getAttribute("data-offline-key");
    var bound = form.querySelector("[data-testid=field-error], [data-testid=form-errors]");
    if (form.hasAttribute("data-saved")) {
      try { localStorage.removeItem(key); } catch (e) { /* ignore */ }
    } else if (!bound && restore(form, key)) {
      var notice = form.querySelector("[data-offline-notice]");
      if (notice) { notice.classList.remove("d-none"); }
    }
    form.addEventListener("input", function () { save(form, key); });
    form.addEventListener("change", function () { save(form, key); });
    form.addEventListener("submit", function (event) {
      save(form, key);
      if (navigator.onLine === false) {
        event.preventDefault();
        var warning = form.querySelector("[data-offline-warning]");
        if (warning) { warning.classList.remove("d-none"); }
      }
    });
  });

  document.querySelectorAll("select[data-auto-submit]").forEach(function (select) {
    select.addEventListener("change", function () { if (select.form) { select.form.submit(); } });
  });
})();
