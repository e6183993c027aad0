// Completes what a Portico mail link asks, through the API, on the page the
// link opened: verify an address, set a new password, confirm a deletion,
// sign in by email (then the second factor's code when the account has one).
// The token comes from the link's query and goes only to the API (the page
// sends no Referer and is not cached). Answers are told in plain words, by
// the problem's type; on success the page offers to continue.
(function () {
  "use strict";
  var action = document.body.getAttribute("data-action");
  var token = new URLSearchParams(window.location.search).get("token") || "";
  var status = document.getElementById("status");
  var PROBLEM = "urn:portico:problem:";

  function say(text, kind) {
    status.textContent = text;
    status.className = kind || "";
  }

  function done(text) {
    say(text, "done");
    document.getElementById("next").hidden = false;
  }

  // What went wrong, in words a user acts on; `what` names the action.
  var EXPIRED = "This link has expired or was already used. Ask for a new one.";
  function explain(response, what) {
    return response.json().then(function (p) {
      var kind = (p.type || "").indexOf(PROBLEM) === 0 ? p.type.slice(PROBLEM.length) : "";
      var fields = p.errors || {};
      switch (kind) {
        case "invalid-token":
          return what === "verify"
            ? "This link has expired or was already used. Ask for a new one: register again with the same address."
            : EXPIRED;
        case "validation":
          if (fields.new_password) { return "That password cannot be used: " + fields.new_password[0] + "."; }
          if (fields.token) { return "This link is not complete. Open the whole link from the mail, or copy all of it."; }
          return "Something in the request was not accepted. Open the link from the mail again.";
        case "email-taken":
          return "An account already uses this address. Sign in, or reset its password.";
        case "username-taken":
          return "Someone took this username before you confirmed. Register again with another username.";
        case "wrong-code":
          return "That code is not right. Try the current code from your authenticator app.";
        case "account-locked":
          return "This account is locked. Contact the service's support.";
        case "account-suspended":
          return "This account is suspended" + (p.reason ? ": " + p.reason : "") + ".";
        case "rate-limited":
          return "Too many tries from here. Wait a minute, then try again.";
        case "unauthenticated":
          return "Sign in in this browser first, then open the link again.";
        case "store-unavailable":
          return "The service is unavailable for a moment. Try again shortly.";
        default:
          return "Something went wrong on our side. Try again later." + (p.title ? " (" + p.title + ")" : "");
      }
    }, function () {
      return "Something went wrong on our side. Try again later.";
    });
  }

  function unreachable() {
    say("The server could not be reached. Check your connection and try again.", "error");
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

  var shape = action === "email" ? /^[0-9a-f]{64}\.[0-9a-f]{64}$/ : /^[0-9a-f]{64}$/;
  if (!shape.test(token)) {
    say("This link is not complete. Open the whole link from the mail, or copy all of it.", "error");
    var form0 = document.querySelector("form, #confirm, #sign-in");
    if (form0) { form0.hidden = true; }
    return;
  }

  if (action === "verify") {
    say("Confirming your address…");
    send("POST", "/v1/registrations/verify", { token: token }).then(function (r) {
      if (r.status === 201) {
        done("Your address is confirmed and your account is ready. You can sign in now.");
      } else {
        explain(r, "verify").then(function (t) { say(t, "error"); });
      }
    }, unreachable);
  }

  if (action === "reset") {
    var form = document.getElementById("reset");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var password = document.getElementById("password").value;
      if (password !== document.getElementById("again").value) {
        say("The two passwords differ. Type the same one twice.", "error");
        return;
      }
      var button = form.querySelector("button");
      button.disabled = true;
      send("POST", "/v1/password-resets/confirm", { token: token, new_password: password }).then(function (r) {
        button.disabled = false;
        if (r.status === 204 || r.status === 200) {
          form.hidden = true;
          done("Your password is changed, and every session was signed out. Sign in with the new one.");
        } else {
          explain(r, "reset").then(function (t) { say(t, "error"); });
        }
      }, function () { button.disabled = false; unreachable(); });
    });
  }

  if (action === "email") {
    var button = document.getElementById("sign-in");
    var mfa = document.getElementById("mfa");
    var signedIn = function () {
      button.hidden = true;
      mfa.hidden = true;
      done("You are signed in.");
      var next = document.getElementById("continue").getAttribute("href");
      window.setTimeout(function () { window.location.assign(next); }, 600);
    };
    button.addEventListener("click", function () {
      button.disabled = true;
      send("POST", "/v1/sessions/email/verify", { token: token }).then(function (r) {
        if (r.status === 201) {
          signedIn();
        } else if (r.status === 200) {
          r.json().then(function (challenge) {
            button.hidden = true;
            mfa.hidden = false;
            say("One more step: this account has a second factor.");
            document.getElementById("code").focus();
            mfa.addEventListener("submit", function (event) {
              event.preventDefault();
              var code = document.getElementById("code").value.replace(/\s/g, "");
              send("POST", "/v1/sessions/mfa", { mfa_token: challenge.mfa_token, code: code }).then(function (m) {
                if (m.status === 201) {
                  signedIn();
                } else {
                  explain(m, "mfa").then(function (t) { say(t, "error"); });
                }
              }, unreachable);
            });
          });
        } else {
          button.disabled = false;
          explain(r, "email").then(function (t) { say(t, "error"); });
        }
      }, function () { button.disabled = false; unreachable(); });
    });
  }

  if (action === "delete") {
    var confirm = document.getElementById("confirm");
    confirm.addEventListener("click", function () {
      confirm.disabled = true;
      send("DELETE", "/v1/me", { token: token }, { "X-CSRF-Token": cookie("portico_csrf") }).then(function (r) {
        if (r.status === 204) {
          confirm.hidden = true;
          done("Your account and everything stored with it are deleted.");
        } else {
          confirm.disabled = false;
          explain(r, "delete").then(function (t) { say(t, "error"); });
        }
      }, function () { confirm.disabled = false; unreachable(); });
    });
  }
})();
