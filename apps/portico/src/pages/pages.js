// Completes what a Portico mail link asks, through the API, on the page the
// link opened: verify an address, set a new password, confirm a deletion.
// The token comes from the link's query and goes only to the API (the page
// sends no Referer and is not cached).
(function () {
  "use strict";
  var action = document.body.getAttribute("data-action");
  var token = new URLSearchParams(window.location.search).get("token") || "";
  var status = document.getElementById("status");

  function say(text, kind) {
    status.textContent = text;
    status.className = kind;
  }

  function problem(response) {
    return response.json().then(
      function (p) { return (p.detail || p.title || "Something went wrong") + " (" + response.status + ")"; },
      function () { return "Something went wrong (" + response.status + ")"; }
    );
  }

  function send(method, path, body, headers) {
    var h = { "Content-Type": "application/json" };
    for (var k in headers || {}) { h[k] = headers[k]; }
    return fetch(path, { method: method, headers: h, body: JSON.stringify(body), credentials: "same-origin" });
  }

  function cookie(name) {
    var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }

  if (!token) {
    say("This link has no token. Open the link from the mail again.", "error");
    return;
  }

  if (action === "verify") {
    say("Confirming your address…", "");
    send("POST", "/v1/registrations/verify", { token: token }).then(function (r) {
      if (r.status === 201) {
        say("Your address is confirmed. You can sign in now.", "done");
      } else {
        problem(r).then(function (t) { say("The address could not be confirmed: " + t, "error"); });
      }
    }, function () { say("The server could not be reached. Try again.", "error"); });
  }

  if (action === "reset") {
    var form = document.getElementById("reset");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var password = document.getElementById("password").value;
      if (password !== document.getElementById("again").value) {
        say("The two passwords differ.", "error");
        return;
      }
      send("POST", "/v1/password-resets/confirm", { token: token, new_password: password }).then(function (r) {
        if (r.status === 204 || r.status === 200) {
          form.hidden = true;
          say("Your password is changed, and every session signed out. Sign in with the new one.", "done");
        } else {
          problem(r).then(function (t) { say("The password was not changed: " + t, "error"); });
        }
      }, function () { say("The server could not be reached. Try again.", "error"); });
    });
  }

  if (action === "delete") {
    var button = document.getElementById("confirm");
    button.addEventListener("click", function () {
      send("DELETE", "/v1/me", { token: token }, { "X-CSRF-Token": cookie("portico_csrf") }).then(function (r) {
        if (r.status === 204) {
          button.hidden = true;
          say("Your account and everything stored with it are deleted.", "done");
        } else if (r.status === 401) {
          say("Sign in in this browser first, then open the link again.", "error");
        } else {
          problem(r).then(function (t) { say("The account was not deleted: " + t, "error"); });
        }
      }, function () { say("The server could not be reached. Try again.", "error"); });
    });
  }
})();
