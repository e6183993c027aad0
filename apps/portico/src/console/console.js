// Portico's admin console: a small single-page app over the public /v1 API.
// It signs in with the password (and the second step when the account has
// TOTP), keeps nothing but the HttpOnly session cookie the server sets and
// the readable CSRF cookie it echoes in X-CSRF-Token, and builds every
// element with textContent (no HTML from data is ever parsed), so text from
// users is shown as text. No dependencies, no build step.
"use strict";

(function () {
  const app = document.getElementById("app");
  let me = null;

  // ---- Elements ---------------------------------------------------------

  /** An element with attributes and children (strings become text). */
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v === null || v === undefined) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else if (v === true) el.setAttribute(k, "");
      else el.setAttribute(k, String(v));
    }
    append(el, kids);
    return el;
  }

  function append(el, kids) {
    for (const kid of kids.flat(Infinity)) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
  }

  const SVG = "http://www.w3.org/2000/svg";
  function s(tag, attrs, ...kids) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    append(el, kids);
    return el;
  }

  let fieldIds = 0;
  /** A labelled control: `<label for>` and the control, with an error slot. */
  function field(label, control, help) {
    const id = control.id || "f" + ++fieldIds;
    control.id = id;
    const error = h("p", { class: "field-error", id: id + "-error", role: "alert" });
    const described = [help ? id + "-help" : null, id + "-error"].filter(Boolean).join(" ");
    control.setAttribute("aria-describedby", described);
    return h("div", {},
      h("label", { for: id }, label),
      help ? h("p", { class: "description", id: id + "-help" }, help) : null,
      control, error);
  }

  function when(t) {
    if (!t) return "—";
    const d = new Date(t);
    return isNaN(d) ? String(t) : d.toLocaleString();
  }

  function cookie(name) {
    const hit = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
    return hit ? decodeURIComponent(hit.slice(name.length + 1)) : null;
  }

  // ---- The API ----------------------------------------------------------

  class Problem extends Error {
    constructor(status, body) {
      super((body && body.title) || "Request failed (" + status + ")");
      this.status = status;
      this.body = body || {};
    }
  }

  /** Calls the API with the session cookie; throws a Problem on errors. */
  async function api(method, path, body, extra) {
    const headers = Object.assign({ Accept: "application/json" }, extra || {});
    const init = { method, credentials: "same-origin", headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (method !== "GET") {
      const csrf = cookie("portico_csrf");
      if (csrf) headers["X-CSRF-Token"] = csrf;
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new Problem(0, { title: "The server cannot be reached", detail: String(e) });
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = { title: text }; }
    }
    if (res.status === 401 && path !== "/v1/sessions" && path !== "/v1/sessions/mfa") {
      const was = me;
      me = null;
      showSignIn(was ? "Your session ended: sign in again." : null);
      throw new Problem(401, data);
    }
    if (!res.ok) throw new Problem(res.status, data);
    return { data, res };
  }

  /** The problem box: title, detail, and the field messages. */
  function problemBox(err) {
    const body = err.body || {};
    const errors = body.errors ? Object.entries(body.errors) : [];
    return h("div", { class: "problem", role: "alert" },
      h("strong", {}, body.title || err.message),
      body.detail ? h("span", {}, body.detail) : null,
      errors.length ? h("ul", {}, errors.map(([k, v]) => h("li", {}, (k ? k + ": " : "") + [].concat(v).join("; ")))) : null);
  }

  function grants(wanted) {
    const [res] = wanted.split(":");
    return (me && me.permissions || []).some((p) => p === "*" || p === wanted || p === res + ":*");
  }

  // ---- Dialogs ----------------------------------------------------------

  /** A modal dialog; resolves with the form's values on Confirm, null on Cancel. */
  function dialog(title, body, confirmLabel, danger) {
    return new Promise((resolve) => {
      const form = h("form", { method: "dialog" });
      const d = h("dialog", { "aria-labelledby": "dialog-title" },
        h("h2", { id: "dialog-title" }, title), form);
      append(form, [body,
        h("div", { class: "actions" },
          h("button", { type: "submit", value: "confirm", class: danger ? "danger" : "" }, confirmLabel),
          h("button", { type: "submit", value: "cancel", class: "quiet", formnovalidate: true }, "Cancel"))]);
      d.addEventListener("close", () => {
        const values = d.returnValue === "confirm" ? Object.fromEntries(new FormData(form)) : null;
        d.remove();
        resolve(values);
      });
      document.body.append(d);
      d.showModal();
    });
  }

  function confirmAction(question, label) {
    return dialog(question, h("p", {}, "This takes effect at once."), label || "Confirm", true)
      .then((v) => v !== null);
  }

  // ---- Frame and routing ------------------------------------------------

  const NAV = [
    ["/admin", "Dashboard"], ["/admin/users", "Users"], ["/admin/roles", "Roles"],
    ["/admin/plans", "Plans"], ["/admin/activity", "Activity"], ["/admin/settings", "Settings"],
  ];

  function go(path) {
    history.pushState(null, "", path);
    route();
  }

  function link(path, text) {
    return h("a", { href: path, onclick: (e) => {
      if (e.button === 0 && !e.metaKey && !e.ctrlKey && !e.shiftKey) { e.preventDefault(); go(path); }
    } }, text);
  }

  async function signOut() {
    try { await api("DELETE", "/v1/sessions/current"); } catch (_) { /* signed out either way */ }
    me = null;
    history.pushState(null, "", "/admin");
    showSignIn();
  }

  function frame(current) {
    const main = h("main", { id: "main", tabindex: "-1" });
    const nav = h("nav", { "aria-label": "Console" }, h("ul", {}, NAV.map(([path, name]) =>
      h("li", {}, (() => { const a = link(path, name); if (path === current) a.setAttribute("aria-current", "page"); return a; })()))));
    app.replaceChildren(
      h("a", { class: "skip", href: "#main" }, "Skip to the page"),
      h("header", { class: "top" },
        h("span", { class: "brand" }, "Portico"), nav,
        h("div", { class: "who" }, h("span", {}, me.username),
          h("button", { type: "button", class: "quiet", onclick: signOut }, "Sign out"))),
      main);
    return main;
  }

  const ROUTES = [
    [/^\/admin\/?$/, "/admin", dashboard],
    [/^\/admin\/users\/?$/, "/admin/users", users],
    [/^\/admin\/users\/([0-9a-f-]{36})$/, "/admin/users", user],
    [/^\/admin\/roles\/?$/, "/admin/roles", roles],
    [/^\/admin\/plans\/?$/, "/admin/plans", plans],
    [/^\/admin\/activity\/?$/, "/admin/activity", activity],
    [/^\/admin\/settings\/?$/, "/admin/settings", settings],
  ];

  async function route() {
    if (!me) return start();
    for (const [pattern, section, page] of ROUTES) {
      const m = location.pathname.match(pattern);
      if (!m) continue;
      const main = frame(section);
      main.append(h("p", { class: "muted", role: "status" }, "Loading…"));
      try {
        await page(main, ...m.slice(1));
      } catch (err) {
        if (err instanceof Problem && err.status === 401) return;
        main.replaceChildren(h("h1", {}, "Something went wrong"), problemBox(err));
      }
      main.focus({ preventScroll: true });
      return;
    }
    frame("").append(h("h1", {}, "Not found"), h("p", {}, "No console page has this address."));
  }

  window.addEventListener("popstate", route);

  // ---- Signing in -------------------------------------------------------

  async function start() {
    try {
      const { data } = await api("GET", "/v1/me");
      me = data;
    } catch (err) {
      if (!(err instanceof Problem && err.status === 401)) {
        app.replaceChildren(h("main", { class: "signin" }, problemBox(err)));
      }
      return;
    }
    if (!grants("console:access")) return refused();
    route();
  }

  function refused() {
    app.replaceChildren(h("main", { class: "signin" },
      h("h1", {}, "Portico console"),
      h("p", { role: "alert" }, "You do not have access to the console"),
      h("p", { class: "muted" }, "Signed in as " + me.username + ". Ask an administrator for the console:access permission."),
      h("button", { type: "button", onclick: signOut }, "Sign out")));
  }

  function showSignIn(message) {
    const slot = h("div", {});
    if (message) slot.append(h("div", { class: "notice", role: "status" }, message));
    const login = h("input", { id: "login", name: "login", autocomplete: "username", required: true });
    const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
    const button = h("button", { type: "submit" }, "Sign in");
    const form = h("form", { novalidate: false },
      field("Email or username", login), field("Password", password), button);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      button.disabled = true;
      slot.replaceChildren();
      try {
        const { data, res } = await api("POST", "/v1/sessions", { login: login.value, password: password.value });
        if (res.status === 200 && data.mfa_required) return secondStep(data.mfa_token);
        await start();
      } catch (err) {
        slot.replaceChildren(problemBox(err));
        button.disabled = false;
      }
    });
    app.replaceChildren(h("main", { class: "signin" }, h("h1", {}, "Portico console"), slot, form));
    login.focus();
  }

  function secondStep(token) {
    const slot = h("div", {});
    const code = h("input", { id: "code", name: "code", autocomplete: "one-time-code", inputmode: "numeric", required: true });
    const button = h("button", { type: "submit" }, "Sign in");
    const form = h("form", {},
      h("p", { class: "muted" }, "Enter the code from your authenticator app, or a backup code."),
      field("Authentication code", code), button);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      button.disabled = true;
      slot.replaceChildren();
      const given = code.value.trim();
      const body = /^\d{6}$/.test(given) ? { mfa_token: token, code: given } : { mfa_token: token, backup_code: given };
      try {
        await api("POST", "/v1/sessions/mfa", body);
        await start();
      } catch (err) {
        slot.replaceChildren(problemBox(err));
        button.disabled = false;
        code.select();
      }
    });
    app.replaceChildren(h("main", { class: "signin" }, h("h1", {}, "Two-step sign-in"), slot, form));
    code.focus();
  }

  // ---- Dashboard --------------------------------------------------------

  function chart(title, days, key) {
    const values = days.map((d) => d[key] || 0);
    const max = Math.max(1, ...values);
    const total = values.reduce((a, b) => a + b, 0);
    const w = 300, hgt = 100, gap = 2, bw = w / values.length - gap;
    const svg = s("svg", { viewBox: `0 0 ${w} ${hgt + 2}`, role: "img", preserveAspectRatio: "none",
      "aria-label": `${title} per day over the last ${values.length} days: ${total} in all, at most ${max} a day` });
    svg.append(s("line", { class: "axis", x1: 0, y1: hgt + 1, x2: w, y2: hgt + 1 }));
    values.forEach((v, i) => {
      const bh = (v / max) * hgt;
      svg.append(s("rect", { class: "bar", x: i * (bw + gap), y: hgt - bh, width: bw, height: Math.max(bh, v ? 1 : 0) },
        s("title", {}, `${days[i].date}: ${v}`)));
    });
    return h("figure", { class: "chart" },
      h("figcaption", {}, h("span", {}, title), h("span", { class: "muted" }, total + " in 30 days")), svg);
  }

  async function dashboard(main) {
    const { data } = await api("GET", "/v1/stats");
    const t = data.totals;
    const total = (figure, what) => h("div", { class: "total" },
      h("div", { class: "figure" }, figure === null ? "—" : String(figure)), h("div", { class: "what" }, what));
    main.replaceChildren(
      h("h1", {}, "Dashboard"),
      h("div", { class: "totals" },
        total(t.users_total, "Users"), total(t.users_verified, "Verified"),
        total(t.users_suspended, "Suspended"),
        total(t.sessions_active, "Active sessions")),
      h("div", { class: "charts" },
        chart("New users", data.days, "users_new"), chart("Active users", data.days, "users_active"),
        chart("Sign-ins", data.days, "sign_ins"), chart("Failed sign-ins", data.days, "sign_in_failures")));
  }

  // ---- Users ------------------------------------------------------------

  const STATUSES = ["active", "locked", "suspended", "unverified"];

  async function planNames() {
    const { data } = await api("GET", "/v1/plans");
    return data.items.map((p) => p.name);
  }

  async function users(main) {
    const params = new URLSearchParams(location.search);
    const q = h("input", { type: "search", name: "q", value: params.get("q") || "" });
    const status = h("select", { name: "status" }, h("option", { value: "" }, "Any"),
      STATUSES.map((v) => h("option", { value: v, selected: params.get("status") === v }, v)));
    const plan = h("select", { name: "plan" }, h("option", { value: "" }, "Any"),
      (await planNames()).map((v) => h("option", { value: v, selected: params.get("plan") === v }, v)));
    const results = h("div", {});
    const apply = (cursor) => {
      const p = new URLSearchParams();
      for (const [k, el] of [["q", q], ["status", status], ["plan", plan]]) if (el.value) p.set(k, el.value);
      if (cursor) p.set("cursor", cursor);
      history.replaceState(null, "", "/admin/users" + (p.toString() ? "?" + p : ""));
      return load(p);
    };
    const load = async (p) => {
      p.set("limit", "25");
      results.replaceChildren(h("p", { class: "muted", role: "status" }, "Loading…"));
      try {
        const { data } = await api("GET", "/v1/users?" + p);
        const rows = data.items.map((u) => h("tr", {},
          h("td", {}, link("/admin/users/" + u.id, u.email)), h("td", {}, u.username),
          h("td", {}, h("span", { class: "badge " + u.status }, u.status)),
          h("td", {}, u.plan ? u.plan.name : "free"), h("td", {}, when(u.last_sign_in_at))));
        results.replaceChildren(
          h("div", { class: "table-wrap" }, h("table", {},
            h("caption", { class: "muted" }, data.items.length ? "" : "No user matches."),
            h("thead", {}, h("tr", {}, ["Email", "Username", "Status", "Plan", "Last sign-in"].map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", {}, rows))),
          h("div", { class: "pager" },
            p.get("cursor") ? h("button", { type: "button", class: "quiet", onclick: () => apply(null) }, "First page") : null,
            data.next_cursor ? h("button", { type: "button", class: "quiet", onclick: () => apply(data.next_cursor) }, "Next page") : null));
      } catch (err) {
        results.replaceChildren(problemBox(err));
      }
    };
    const form = h("form", { class: "row", role: "search" },
      field("Search users", q), field("Status", status), field("Plan", plan),
      h("div", {}, h("button", { type: "submit" }, "Search")));
    form.addEventListener("submit", (e) => { e.preventDefault(); apply(null); });
    status.addEventListener("change", () => apply(null));
    plan.addEventListener("change", () => apply(null));
    main.replaceChildren(h("h1", {}, "Users"), h("section", { class: "panel" }, form, results));
    await load(new URLSearchParams([...params].filter(([k]) => k !== "limit")));
  }

  function device(d) {
    if (!d) return "—";
    const browser = [d.browser, d.browser_version].filter(Boolean).join(" ");
    const os = [d.os, d.os_version].filter(Boolean).join(" ");
    return `${browser || "Unknown browser"} on ${os || "an unknown system"} (${d.type})`;
  }

  /** Runs `action`; on success draws the page again, else shows the problem in `slot`. */
  function act(slot, action, after) {
    return async () => {
      slot.replaceChildren();
      try {
        const done = await action();
        if (done === false) return;
        if (after) after(); else route();
      } catch (err) {
        if (!(err instanceof Problem && err.status === 401)) slot.replaceChildren(problemBox(err));
      }
    };
  }

  async function user(main, id) {
    const part = (path, pick) => api("GET", path).then((r) => pick(r.data)).catch((e) => e);
    const [{ data: u }, { data: allRoles }, names, sessions, events, mfa, links, usage] = await Promise.all([
      api("GET", "/v1/users/" + id), api("GET", "/v1/roles"), planNames(),
      part("/v1/users/" + id + "/sessions", (d) => d.items),
      part("/v1/activity?limit=10&user_id=" + id, (d) => d.items),
      part("/v1/users/" + id + "/mfa", (d) => d),
      part("/v1/users/" + id + "/providers", (d) => d.items),
      part("/v1/users/" + id + "/usage", (d) => d),
    ]);
    const failed = (x) => x instanceof Error;
    const of = (n, limit) => (limit === null || limit === undefined ? n + " (unlimited)" : n + " of " + limit);
    const slot = h("div", {});
    const base = "/v1/users/" + id;
    const suspended = !!u.suspension;
    const buttons = [
      suspended
        ? h("button", { type: "button", onclick: act(slot, async () => {
          if (!(await confirmAction("Lift the suspension of " + u.username + "?", "Lift suspension"))) return false;
          await api("DELETE", base + "/suspension");
        }) }, "Lift suspension")
        : h("button", { type: "button", class: "danger", onclick: act(slot, async () => {
          const reason = h("textarea", { name: "reason", required: true, maxlength: 500 });
          const until = h("input", { name: "until", type: "datetime-local" });
          const v = await dialog("Suspend " + u.username, [
            h("p", {}, "Every session ends at once and every way of signing in is refused until the suspension is lifted."),
            field("Reason", reason), field("Until", until, "Leave empty to suspend until lifted.")], "Confirm", true);
          if (!v) return false;
          const body = { reason: v.reason };
          if (v.until) body.until = new Date(v.until).toISOString();
          await api("POST", base + "/suspension", body);
        }) }, "Suspend"),
      u.locked
        ? h("button", { type: "button", onclick: act(slot, () => api("PATCH", base, { locked: false })) }, "Unlock")
        : h("button", { type: "button", class: "danger", onclick: act(slot, async () => {
          if (!(await confirmAction("Lock " + u.username + "?", "Lock"))) return false;
          await api("PATCH", base, { locked: true });
        }) }, "Lock"),
      u.verified ? null : h("button", { type: "button", onclick: act(slot, () => api("PATCH", base, { verified: true })) }, "Verify email"),
    ];
    const planSelect = h("select", { name: "plan" }, names.map((n) => h("option", { value: n, selected: (u.plan ? u.plan.name : "free") === n }, n)));
    planSelect.addEventListener("change", act(slot, () => api("PUT", base + "/plan", { plan: planSelect.value })));
    const grantable = (allRoles.items || allRoles).map((r) => r.name).filter((n) => !u.roles.includes(n));
    const roleSelect = h("select", { name: "role" }, grantable.map((n) => h("option", { value: n }, n)));
    const sessionRows = Array.isArray(sessions) ? sessions.map((x) => h("tr", {},
      h("td", {}, device(x.device)), h("td", {}, x.ip || "—"), h("td", {}, when(x.created_at)), h("td", {}, when(x.last_used_at)),
      h("td", {}, h("button", { type: "button", class: "quiet", "aria-label": "Revoke the session from " + device(x.device), onclick: act(slot, async () => {
        if (!(await confirmAction("Revoke this session?", "Revoke"))) return false;
        await api("DELETE", base + "/sessions/" + x.id);
      }) }, "Revoke")))) : [];
    main.replaceChildren(
      h("p", {}, link("/admin/users", "← Users")),
      h("h1", {}, u.username),
      slot,
      h("div", { class: "grid" },
        h("section", { class: "panel", "aria-labelledby": "profile-h" }, h("h2", { id: "profile-h" }, "Profile"),
          h("dl", { class: "facts" },
            h("dt", {}, "Email"), h("dd", {}, u.email),
            h("dt", {}, "Name"), h("dd", {}, (u.profile && u.profile.full_name) || "—"),
            h("dt", {}, "Created"), h("dd", {}, when(u.created_at)),
            h("dt", {}, "Origin"), h("dd", {}, u.origin ? u.origin.kind + (u.origin.provider ? " (" + u.origin.provider + ")" : "") : "—"),
            h("dt", {}, "Last sign-in"), h("dd", {}, when(u.last_sign_in_at)),
            h("dt", {}, "Last active"), h("dd", {}, when(u.last_active_at)),
            h("dt", {}, "Id"), h("dd", {}, h("code", {}, u.id)))),
        h("section", { class: "panel", "aria-labelledby": "status-h" }, h("h2", { id: "status-h" }, "Status"),
          h("p", {}, h("span", { class: "badge " + u.status }, u.status), u.verified ? "" : " · email not verified"),
          suspended ? h("dl", { class: "facts" },
            h("dt", {}, "Reason"), h("dd", {}, u.suspension.reason),
            h("dt", {}, "Since"), h("dd", {}, when(u.suspension.since)),
            h("dt", {}, "Until"), h("dd", {}, u.suspension.until ? when(u.suspension.until) : "lifted by an administrator")) : null,
          h("div", { class: "actions" }, buttons)),
        h("section", { class: "panel", "aria-labelledby": "plan-h" }, h("h2", { id: "plan-h" }, "Plan"),
          field("Plan", planSelect),
          u.plan && u.plan.until ? h("p", { class: "muted" }, "Until " + when(u.plan.until)) : null,
          failed(usage) ? problemBox(usage) : h("dl", { class: "facts" },
            h("dt", {}, "Today"), h("dd", {}, of(usage.last_day, usage.daily_limit)),
            h("dt", {}, "This month"), h("dd", {}, of(usage.last_month, usage.monthly_limit)),
            h("dt", {}, "All time"), h("dd", {}, String(usage.all_time)))),
        h("section", { class: "panel", "aria-labelledby": "roles-h" }, h("h2", { id: "roles-h" }, "Roles"),
          h("ul", {}, u.roles.map((r) => h("li", {}, r, " ",
            h("button", { type: "button", class: "quiet", "aria-label": "Revoke the role " + r, onclick: act(slot, async () => {
              if (!(await confirmAction("Revoke the role " + r + " from " + u.username + "?", "Revoke"))) return false;
              await api("DELETE", base + "/roles/" + encodeURIComponent(r));
            }) }, "Revoke")))),
          grantable.length ? h("div", { class: "row" }, field("Role", roleSelect),
            h("div", {}, h("button", { type: "button", onclick: act(slot, () => api("PUT", base + "/roles/" + encodeURIComponent(roleSelect.value))) }, "Grant"))) : null)),
      h("section", { class: "panel", "aria-labelledby": "sessions-h" }, h("h2", { id: "sessions-h" }, "Sessions"),
        Array.isArray(sessions)
          ? (sessionRows.length ? h("div", { class: "table-wrap" }, h("table", {},
            h("thead", {}, h("tr", {}, ["Device", "IP", "Signed in", "Last used", ""].map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", {}, sessionRows))) : h("p", { class: "muted" }, "No active session."))
          : problemBox(sessions)),
      h("div", { class: "grid" },
        h("section", { class: "panel", "aria-labelledby": "mfa-h" }, h("h2", { id: "mfa-h" }, "Two-step sign-in"),
          failed(mfa) ? problemBox(mfa) : h("p", {}, mfa.totp
            ? "On: an authenticator app, " + mfa.backup_codes_left + " backup codes left." : "Off."),
          !failed(mfa) && mfa.totp ? [
            h("p", { class: "muted" }, "Resetting turns off the authenticator app and the backup codes: the user signs in with the password alone and can set it up again."),
            h("button", { type: "button", class: "danger", onclick: act(slot, async () => {
              if (!(await confirmAction("Reset two-step sign-in for " + u.username + "?", "Reset"))) return false;
              await api("DELETE", base + "/mfa");
            }) }, "Reset two-step sign-in")] : null),
        h("section", { class: "panel", "aria-labelledby": "links-h" }, h("h2", { id: "links-h" }, "Linked providers"),
          failed(links) ? problemBox(links) : links.length
            ? h("ul", {}, links.map((l) => h("li", {}, l.provider + (l.email ? " (" + l.email + ")" : "") + ", linked " + when(l.created_at))))
            : h("p", { class: "muted" }, "None.")),
        h("section", { class: "panel", "aria-labelledby": "keys-h" }, h("h2", { id: "keys-h" }, "Passkeys and API keys"),
          h("p", { class: "muted" }, "Portico has neither yet: they arrive with passwordless sign-in and API keys."))),
      h("section", { class: "panel", "aria-labelledby": "activity-h" }, h("h2", { id: "activity-h" }, "Recent activity"),
        Array.isArray(events) ? eventTable(events) : problemBox(events)));
  }

  // ---- Roles and plans --------------------------------------------------

  function words(text) {
    return text.split(/[\s,]+/).map((w) => w.trim()).filter(Boolean);
  }

  async function roles(main) {
    const { data } = await api("GET", "/v1/roles");
    const list = data.items || data;
    const slot = h("div", {});
    const name = h("input", { name: "name", required: true });
    const description = h("input", { name: "description" });
    const perms = h("input", { name: "permissions", placeholder: "users:read, stats:read" });
    const create = h("form", { class: "row" }, field("Name", name), field("Description", description),
      field("Permissions", perms), h("div", {}, h("button", { type: "submit" }, "Create role")));
    create.addEventListener("submit", (e) => {
      e.preventDefault();
      act(slot, () => api("POST", "/v1/roles", { name: name.value, description: description.value || null, permissions: words(perms.value) }))();
    });
    const rows = list.map((r) => h("tr", {},
      h("td", {}, r.name), h("td", {}, r.description || ""), h("td", {}, h("code", {}, r.permissions.join(" "))),
      h("td", {}, r.built_in ? h("span", { class: "muted" }, "built in") : [
        h("button", { type: "button", class: "quiet", "aria-label": "Edit the role " + r.name, onclick: act(slot, async () => {
          const d = h("input", { name: "description", value: r.description || "" });
          const p = h("input", { name: "permissions", value: r.permissions.join(" ") });
          const v = await dialog("Edit the role " + r.name, [field("Description", d), field("Permissions", p)], "Save");
          if (!v) return false;
          await api("PATCH", "/v1/roles/" + encodeURIComponent(r.name), { description: v.description || null, permissions: words(v.permissions) });
        }) }, "Edit"),
        h("button", { type: "button", class: "quiet", "aria-label": "Delete the role " + r.name, onclick: act(slot, async () => {
          if (!(await confirmAction("Delete the role " + r.name + "?", "Delete"))) return false;
          await api("DELETE", "/v1/roles/" + encodeURIComponent(r.name));
        }) }, "Delete")])));
    main.replaceChildren(h("h1", {}, "Roles"), slot,
      h("section", { class: "panel" }, h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ["Name", "Description", "Permissions", ""].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows)))),
      h("section", { class: "panel", "aria-labelledby": "new-role" }, h("h2", { id: "new-role" }, "New role"), create));
  }

  function limit(text) {
    const t = String(text).trim();
    return t === "" ? null : Number(t);
  }

  async function plans(main) {
    const { data } = await api("GET", "/v1/plans");
    const slot = h("div", {});
    const inputs = {
      name: h("input", { name: "name", required: true }), display: h("input", { name: "display_name", required: true }),
      daily: h("input", { name: "daily", type: "number", min: 0 }), monthly: h("input", { name: "monthly", type: "number", min: 0 }),
      features: h("input", { name: "features", placeholder: "export, priority-support" }),
    };
    const create = h("form", { class: "row" },
      field("Name", inputs.name), field("Display name", inputs.display), field("Daily limit", inputs.daily, "Empty: unlimited"),
      field("Monthly limit", inputs.monthly, "Empty: unlimited"), field("Features", inputs.features),
      h("div", {}, h("button", { type: "submit" }, "Create plan")));
    create.addEventListener("submit", (e) => {
      e.preventDefault();
      act(slot, () => api("POST", "/v1/plans", {
        name: inputs.name.value, display_name: inputs.display.value, daily_limit: limit(inputs.daily.value),
        monthly_limit: limit(inputs.monthly.value), features: words(inputs.features.value),
      }))();
    });
    const unlimited = (n) => (n === null || n === undefined ? "unlimited" : String(n));
    const rows = data.items.map((p) => h("tr", {},
      h("td", {}, p.name), h("td", {}, p.display_name), h("td", {}, unlimited(p.daily_limit)), h("td", {}, unlimited(p.monthly_limit)),
      h("td", {}, p.features.join(", ")),
      h("td", {}, p.name === "free" ? h("span", { class: "muted" }, "from configuration") : [
        h("button", { type: "button", class: "quiet", "aria-label": "Edit the plan " + p.name, onclick: act(slot, async () => {
          const d = h("input", { name: "display_name", value: p.display_name, required: true });
          const dl = h("input", { name: "daily", type: "number", min: 0, value: p.daily_limit === null ? "" : p.daily_limit });
          const ml = h("input", { name: "monthly", type: "number", min: 0, value: p.monthly_limit === null ? "" : p.monthly_limit });
          const f = h("input", { name: "features", value: p.features.join(", ") });
          const v = await dialog("Edit the plan " + p.name, [field("Display name", d), field("Daily limit", dl, "Empty: unlimited"),
            field("Monthly limit", ml, "Empty: unlimited"), field("Features", f)], "Save");
          if (!v) return false;
          await api("PATCH", "/v1/plans/" + encodeURIComponent(p.name), {
            display_name: v.display_name, daily_limit: limit(v.daily), monthly_limit: limit(v.monthly), features: words(v.features),
          });
        }) }, "Edit"),
        h("button", { type: "button", class: "quiet", "aria-label": "Delete the plan " + p.name, onclick: act(slot, async () => {
          if (!(await confirmAction("Delete the plan " + p.name + "?", "Delete"))) return false;
          await api("DELETE", "/v1/plans/" + encodeURIComponent(p.name));
        }) }, "Delete")])));
    main.replaceChildren(h("h1", {}, "Plans"), slot,
      h("section", { class: "panel" }, h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ["Name", "Display name", "Daily limit", "Monthly limit", "Features", ""].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows)))),
      h("section", { class: "panel", "aria-labelledby": "new-plan" }, h("h2", { id: "new-plan" }, "New plan"), create));
  }

  // ---- Activity ---------------------------------------------------------

  const EVENT_TYPES = ["registration.verified", "sign_in.succeeded", "sign_in.failed", "session.revoked",
    "session.refresh_reused", "password.changed", "password.reset", "mfa.enabled", "mfa.disabled",
    "mfa.backup_codes_regenerated", "mfa.backup_code_used", "provider.linked", "provider.unlinked",
    "passkey.added", "passkey.removed", "api_key.created", "api_key.revoked", "role.granted", "role.revoked",
    "user.locked", "user.unlocked", "user.suspended", "user.unsuspended", "plan.changed", "quota.exceeded",
    "settings.changed", "account.deleted"];

  function eventTable(items) {
    if (!items.length) return h("p", { class: "muted" }, "No event.");
    return h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, ["When", "Type", "User", "By", "IP", "Details"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, items.map((e) => h("tr", {},
        h("td", {}, when(e.at)), h("td", {}, e.type), h("td", {}, link("/admin/users/" + e.user_id, e.user_id.slice(0, 8))),
        h("td", {}, e.actor.kind + (e.actor.user_id && e.actor.user_id !== e.user_id ? " " + e.actor.user_id.slice(0, 8) : "")),
        h("td", {}, e.ip || "—"), h("td", {}, h("code", {}, JSON.stringify(e.details))))))));
  }

  async function activity(main) {
    const userId = h("input", { name: "user_id", placeholder: "a user's id" });
    const type = h("select", { name: "type" }, h("option", { value: "" }, "Any"), EVENT_TYPES.map((t) => h("option", { value: t }, t)));
    const from = h("input", { name: "from", type: "datetime-local" });
    const to = h("input", { name: "to", type: "datetime-local" });
    const results = h("div", {});
    const load = async (cursor) => {
      const p = new URLSearchParams({ limit: "50" });
      if (userId.value.trim()) p.set("user_id", userId.value.trim());
      if (type.value) p.set("type", type.value);
      if (from.value) p.set("from", new Date(from.value).toISOString());
      if (to.value) p.set("to", new Date(to.value).toISOString());
      if (cursor) p.set("cursor", cursor);
      results.replaceChildren(h("p", { class: "muted", role: "status" }, "Loading…"));
      try {
        const { data } = await api("GET", "/v1/activity?" + p);
        results.replaceChildren(eventTable(data.items), h("div", { class: "pager" },
          cursor ? h("button", { type: "button", class: "quiet", onclick: () => load(null) }, "First page") : null,
          data.next_cursor ? h("button", { type: "button", class: "quiet", onclick: () => load(data.next_cursor) }, "Next page") : null));
      } catch (err) {
        results.replaceChildren(problemBox(err));
      }
    };
    const form = h("form", { class: "row" }, field("User", userId), field("Type", type), field("From", from), field("To", to),
      h("div", {}, h("button", { type: "submit" }, "Filter")));
    form.addEventListener("submit", (e) => { e.preventDefault(); load(null); });
    main.replaceChildren(h("h1", {}, "Activity"), h("section", { class: "panel" }, form, results));
    await load(null);
  }

  // ---- Settings ---------------------------------------------------------

  async function settings(main) {
    const [{ data, res }, names] = await Promise.all([api("GET", "/v1/settings"), planNames()]);
    const version = res.headers.get("ETag") || String(data.version);
    const slot = h("div", {});
    const controls = new Map();
    const rows = data.items.map((item) => {
      let control;
      if (item.type === "bool") {
        control = h("input", { type: "checkbox", name: item.key, checked: item.value === true });
      } else if (item.type === "integer") {
        control = h("input", { type: "number", name: item.key, value: item.value, min: item.min, max: item.max, step: 1 });
      } else {
        const options = names.includes(item.value) ? names : names.concat([item.value]);
        control = h("select", { name: item.key }, options.map((n) => h("option", { value: n, selected: n === item.value }, n)));
      }
      controls.set(item.key, { control, item });
      const range = item.type === "integer" ? ` (${item.min}–${item.max})` : "";
      return h("div", { class: "setting" }, field(item.key, control, item.description + range),
        h("p", { class: "meta" }, "Default: " + JSON.stringify(item.default) +
          (item.updated_at ? " · set " + when(item.updated_at) : " · not set")));
    });
    const read = ({ control, item }) => item.type === "bool" ? control.checked
      : item.type === "integer" ? (control.value.trim() === "" ? control.value : Number(control.value)) : control.value;
    // The server checks the values (and says what is wrong beside each
    // field), not the browser's own validation.
    const form = h("form", { novalidate: true }, rows, h("div", { class: "actions" }, h("button", { type: "submit" }, "Save settings")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      slot.replaceChildren();
      for (const { control } of controls.values()) document.getElementById(control.id + "-error").textContent = "";
      const changes = {};
      for (const [key, c] of controls) if (JSON.stringify(read(c)) !== JSON.stringify(c.item.value)) changes[key] = read(c);
      if (!Object.keys(changes).length) {
        slot.replaceChildren(h("div", { class: "notice", role: "status" }, "Nothing changed."));
        return;
      }
      try {
        const done = await api("PATCH", "/v1/settings", changes, { "If-Match": version });
        await settings(main);
        main.prepend(h("div", { class: "notice", role: "status" }, "Saved: version " + done.data.version + "."));
      } catch (err) {
        if (err instanceof Problem && err.status === 422 && err.body.errors) {
          for (const [key, messages] of Object.entries(err.body.errors)) {
            const c = controls.get(key);
            if (c) document.getElementById(c.control.id + "-error").textContent = [].concat(messages).join("; ");
          }
        }
        if (!(err instanceof Problem && err.status === 401)) slot.replaceChildren(problemBox(err));
      }
    });
    main.replaceChildren(h("h1", {}, "Settings"),
      h("p", { class: "muted" }, "Changes apply on every instance within seconds; each is in the activity log."),
      slot, h("section", { class: "panel" }, form));
  }

  // Signed in already (the cookie): the page; otherwise /v1/me answers 401
  // and api() shows the sign-in form.
  start().catch((err) => app.replaceChildren(h("main", { class: "signin" }, problemBox(err))));
})();
