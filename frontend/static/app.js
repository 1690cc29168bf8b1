// TaskFlow: small enhancements on top of pages that work without JavaScript.
// Every form still posts normally; this script only avoids full reloads where it can:
// inline editing, a confirmation dialog before deleting, and swapping a changed row in place.
(function () {
  "use strict";

  function announce(message, isError) {
    var region = document.getElementById("status");
    if (!region) return;
    region.textContent = "";
    var p = document.createElement("p");
    p.className = isError ? "flash flash-error" : "flash flash-success";
    p.textContent = message;
    region.appendChild(p);
  }

  function rowOf(element) {
    return element.closest("li.task");
  }

  function openEditor(row) {
    var form = row.querySelector(".edit-form");
    if (!form) return;
    row.classList.add("is-editing");
    form.hidden = false;
    var first = form.querySelector("input[name=title]");
    if (first) first.focus();
  }

  function closeEditor(row) {
    var form = row.querySelector(".edit-form");
    if (!form) return;
    form.reset();
    form.hidden = true;
    row.classList.remove("is-editing");
    var link = row.querySelector("[data-edit]");
    if (link) link.focus();
  }

  // Replaces every element of the page that has the id of an element in the fragment;
  // elements marked data-removed are removed from the page instead.
  function swap(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    var incoming = template.content.querySelectorAll("[id]");
    Array.prototype.forEach.call(incoming, function (node) {
      var current = document.getElementById(node.id);
      if (!current) return;
      if (node.hasAttribute("data-removed")) {
        current.remove();
      } else {
        current.replaceWith(node);
      }
    });
  }

  function messageFor(form) {
    if (form.classList.contains("delete-form")) return "Task deleted.";
    if (form.classList.contains("edit-form")) return "Task saved.";
    var completed = form.querySelector("input[name=completed]");
    return completed && completed.value === "true" ? "Marked as done." : "Marked as not done.";
  }

  // The swapped-in row replaces the control that had focus; put focus back on its
  // counterpart so keyboard users keep their place.
  function restoreFocus(form, rowId, neighbour) {
    var target = null;
    var row = rowId ? document.getElementById(rowId) : null;
    if (row && form.classList.contains("toggle-form")) {
      target = row.querySelector(".check");
    } else if (row && form.classList.contains("edit-form")) {
      target = row.querySelector("[data-edit]");
    } else if (neighbour && document.body.contains(neighbour)) {
      target = neighbour.querySelector(".check");
    }
    if (!target) target = document.getElementById("list-heading");
    if (target) {
      if (!target.hasAttribute("tabindex") && target.tagName === "H2") target.setAttribute("tabindex", "-1");
      target.focus();
    }
  }

  function submitInPlace(form) {
    var body = new URLSearchParams(new FormData(form));
    var message = messageFor(form);
    var wasDelete = form.classList.contains("delete-form");
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "taskflow" }
    }).then(function (response) {
      if (response.redirected) {
        window.location.assign(response.url);
        return null;
      }
      if (!response.ok) {
        // Let the server render the full page (validation messages, error page).
        HTMLFormElement.prototype.submit.call(form);
        return null;
      }
      return response.text();
    }).then(function (html) {
      if (html === null || html === undefined) return;
      var row = rowOf(form);
      var rowId = row ? row.id : null;
      var next = row ? row.nextElementSibling || row.previousElementSibling : null;
      swap(html);
      announce(message, false);
      restoreFocus(form, rowId, next);
      var list = document.getElementById("task-list");
      if (wasDelete && list && !list.querySelector("li.task")) {
        window.location.reload();
      }
    }).catch(function () {
      HTMLFormElement.prototype.submit.call(form);
    });
  }

  function confirmDelete(row) {
    var dialog = document.getElementById("confirm-delete");
    var form = row.querySelector(".delete-form");
    if (!dialog || !form || typeof dialog.showModal !== "function") return false;
    var title = dialog.querySelector("[data-task-title]");
    if (title) title.textContent = row.getAttribute("data-title") || "";
    dialog.returnValue = "";
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue === "confirm") {
        submitInPlace(form);
      } else {
        var link = row.querySelector("[data-delete]");
        if (link) link.focus();
      }
    });
    dialog.showModal();
    return true;
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    var edit = target.closest("[data-edit]");
    if (edit) {
      var editRow = rowOf(edit);
      if (editRow) {
        event.preventDefault();
        openEditor(editRow);
      }
      return;
    }
    var cancel = target.closest("[data-cancel]");
    if (cancel) {
      var cancelRow = rowOf(cancel);
      if (cancelRow) {
        event.preventDefault();
        closeEditor(cancelRow);
      }
      return;
    }
    var del = target.closest("[data-delete]");
    if (del) {
      var deleteRow = rowOf(del);
      if (deleteRow && confirmDelete(deleteRow)) {
        event.preventDefault();
      }
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var target = event.target instanceof Element ? event.target : null;
    var row = target ? rowOf(target) : null;
    if (row && row.classList.contains("is-editing")) {
      closeEditor(row);
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-swap")) return;
    if (typeof fetch !== "function" || typeof URLSearchParams !== "function") return;
    event.preventDefault();
    submitInPlace(form);
  });

  // --- Assistant -----------------------------------------------------------------

  var COUNTER_FROM = 0.9;

  function updateCounter(textarea) {
    var counter = document.getElementById("chat-counter");
    if (!counter) return;
    var max = parseInt(textarea.getAttribute("maxlength"), 10) || 2000;
    var length = textarea.value.length;
    counter.textContent = length >= max * COUNTER_FROM ? length + " / " + max : "";
  }

  function setWaiting(form, waiting) {
    var indicator = document.getElementById("chat-waiting");
    if (indicator) indicator.hidden = !waiting;
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = waiting;
    form.setAttribute("aria-busy", waiting ? "true" : "false");
  }

  function showChat(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    var fresh = template.content.getElementById("new-messages");
    var list = document.getElementById("messages");
    if (fresh && list) {
      while (fresh.firstElementChild) list.appendChild(fresh.firstElementChild);
    }
    var id = template.content.getElementById("conversation-id");
    var input = document.getElementById("conversation-id");
    if (id && input && input.value !== id.value) {
      input.value = id.value;
      if (window.history && history.replaceState) history.replaceState(null, "", "/chat/" + id.value);
    }
    var nav = template.content.getElementById("conversations");
    var currentNav = document.getElementById("conversations");
    if (nav && currentNav) currentNav.replaceWith(nav);
    var empty = document.getElementById("chat-empty");
    if (empty) empty.remove();
    var last = list ? list.lastElementChild : null;
    if (last) last.scrollIntoView({ block: "nearest" });
  }

  function sendChat(form, message) {
    var body = new URLSearchParams(new FormData(form));
    if (message !== undefined) body.set("message", message);
    var textarea = document.getElementById("chat-message");
    setWaiting(form, true);
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "taskflow" }
    }).then(function (response) {
      if (response.redirected) {
        window.location.assign(response.url);
        return null;
      }
      return response.text().then(function (html) {
        if (response.ok) {
          showChat(html);
          if (textarea && form.id === "chat-form") textarea.value = "";
          if (textarea) updateCounter(textarea);
          var banner = document.querySelector("#chat-banner .banner");
          if (banner) banner.remove();
        } else if (response.headers.get("x-taskflow-fragment") === "banner") {
          swap(html);
        } else {
          window.location.reload();
        }
        return null;
      });
    }).catch(function () {
      announce("The message could not be sent. Check your connection and try again.", true);
    }).then(function () {
      setWaiting(form, false);
      if (textarea) textarea.focus();
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (typeof fetch !== "function" || typeof URLSearchParams !== "function") return;
    if (form.id === "chat-form") {
      var textarea = document.getElementById("chat-message");
      if (textarea && textarea.value.trim() === "") {
        event.preventDefault();
        textarea.focus();
        return;
      }
      event.preventDefault();
      sendChat(form);
    } else if (form.classList.contains("examples")) {
      event.preventDefault();
      var submitter = event.submitter;
      sendChat(form, submitter ? submitter.value : undefined);
    }
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLTextAreaElement) || target.id !== "chat-message") return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      var form = target.form;
      if (form && typeof form.requestSubmit === "function") form.requestSubmit();
    }
  });

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target instanceof HTMLTextAreaElement && target.id === "chat-message") updateCounter(target);
  });

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    var dismiss = target.closest("[data-dismiss]");
    if (dismiss) {
      var banner = dismiss.closest(".banner");
      if (banner) banner.remove();
      var textarea = document.getElementById("chat-message");
      if (textarea) textarea.focus();
      return;
    }
    var confirmButton = target.closest("[data-confirm]");
    if (confirmButton && !window.confirm(confirmButton.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  document.documentElement.classList.add("js");
})();
