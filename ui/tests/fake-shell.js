// A stand-in for the desktop shell at the Tauri IPC boundary, for UI tests
// (Vitest in jsdom, Playwright in Chromium). It installs the same globals
// Tauri's webview provides (`__TAURI_INTERNALS__`, the event plugin's), so
// the UI's real `tauriBackend` and `@tauri-apps/api` run unchanged; the
// commands answer from memory the way src-tauri/src/commands.rs does.
//
// Options (set `window.__FAKE_OPTIONS__` before this runs):
//   leads: how many leads to generate (default 40)
//   signedIn: start signed in (default true)
//   role: "rep" (default) or "manager"
//   undoMs: a decision's undo window (default 5000, as the desktop engine's)
//   tokenNotice: the session's token_notice (default null)
//   crm: also list the server's HubSpot and Salesforce owner write-backs
//        among the webhooks (default false)
//   admin: a manager is an admin (default true): publishes definitions,
//        sees every team, the managers and the audit log
//   update: the newer release the last update check found (an
//        UpdateNotice; default null: the app is current)
// Control from tests: `window.__fake` (calls, emitStatus, emit, setOffline,
// setProblem, addLead, refuse, endUndoWindows, outboxDepth, rows,
// setReviewOffline, settleIntake, intake, disableWebhook, webhooks, imports,
// holdImports, releaseImports, definitions, teamReps, managers, audit,
// setScheduleOffline, setUpdate).
//
// Decisions behave as the engine's: durable at the keypress, listed in
// `sync.undoable` until `send_at`, sent after that unless undone; `undo`
// after the window is refused with `too_late_to_undo`.
(function install(win) {
  const opts = Object.assign(
    { leads: 40, signedIn: true, role: "rep", undoMs: 5000, tokenNotice: null, crm: false },
    win.__FAKE_OPTIONS__ || {},
  );
  const NOW = Date.now();
  const MIN = 60000;
  const iso = (ms) => new Date(ms).toISOString();

  const reasons = [
    { code: "not_a_fit", label: "Not a fit for our product", note_required: false, routes_on: false },
    { code: "no_budget", label: "No budget", note_required: false, routes_on: false },
    { code: "wrong_rep", label: "Right lead, wrong rep", note_required: false, routes_on: true },
    { code: "other", label: "Other", note_required: true, routes_on: false },
  ];
  const firstNames = ["Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Ken", "Frances"];
  const lastNames = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Thompson", "Allen"];
  const companies = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell"];
  const channels = ["webinar", "paid_search", "referral", "content", "events"];

  function makeLead(i, over) {
    const id = i + 1;
    const name = `${firstNames[i % 8]} ${lastNames[(i * 3) % 8]} ${id}`;
    const company = companies[(i * 5) % 8];
    const score = 40 + ((i * 37) % 60);
    const assigned = NOW - (i % 50) * MIN - 2 * MIN;
    const lead = {
      id,
      external_id: `ext-${id}`,
      status: "assigned",
      source: { channel: channels[i % 5], campaign: `Q4 campaign ${i % 3}`, utm_source: "newsletter" },
      contact: {
        name,
        email: `${name.split(" ")[0].toLowerCase()}.${id}@${company.toLowerCase()}.test`,
        company,
        title: "Head of Operations",
        country: "DE",
        company_size: 200 + i,
      },
      score: {
        value: score,
        breakdown: [
          { criterion: "Quiz: team size", points: 30 },
          { criterion: "Pricing page visits", points: 20 },
          { criterion: "Personal email", points: -5 },
        ],
      },
      quiz: [
        { question: "How big is your team?", answer: i % 2 ? "50-200" : "10-50", points: 30 },
        { question: "What do you use today?", answer: "Spreadsheets", points: 10 },
      ],
      behaviours: [
        { kind: "pricing_page", at: iso(assigned - 30 * MIN), detail: "3 visits" },
        { kind: "webinar_attended", at: iso(assigned - 3 * 24 * 60 * MIN), detail: "Scaling handoffs" },
      ],
      intent: { need: "Faster lead handoff", timeline: "This quarter", budget: "€20k" },
      team: "emea",
      assignment: {
        id: 1000 + id,
        lead_id: id,
        rep_id: 1,
        rep_name: "Ava Rossi",
        team: "emea",
        rule: "emea-by-country",
        why: "Country DE is in region emea; Ava Rossi was next in the team's rotation.",
        assigned_at: iso(assigned),
        sla_due_at: iso(assigned + 60 * MIN),
        outcome: "pending",
      },
      created_at: iso(assigned - MIN),
      updated_at: iso(assigned),
      version: 1,
      // Leads under 60 arrived while v3 (threshold 40) was in force.
      qualification: score >= 60 ? { version: 4, threshold: 60, score } : { version: 3, threshold: 40, score },
    };
    // Why it came to Ava: the rotation passed over two reps, or (one lead
    // in seven) she holds the account.
    lead.assignment.explanation =
      i % 7 === 3
        ? {
            team: "emea", rule: "emea-by-country", rule_detail: "country DE is in region emea",
            account_match: { account: `${company.toLowerCase()}.test`, rep_id: 1, rep_name: "Ava Rossi", lead_id: Math.max(1, id - 1), used: true },
            considered: [{ rep_id: 1, rep_name: "Ava Rossi" }],
          }
        : {
            team: "emea", rule: "emea-by-country", rule_detail: "country DE is in region emea",
            considered: [
              { rep_id: 2, rep_name: "Ben Ortiz", skipped: "off_shift" },
              { rep_id: 3, rep_name: "Cid Park", skipped: "at_cap" },
              { rep_id: 1, rep_name: "Ava Rossi" },
            ],
          };
    return Object.assign(lead, over || {});
  }

  const rows = [];
  function addRow(lead) {
    rows.push({
      lead,
      status: "new",
      decision: null,
      decision_reason: null,
      decision_note: null,
      decision_state: null,
      refused_message: null,
      taken_away_reason: null,
    });
  }
  for (let i = 0; i < opts.leads; i++) addRow(makeLead(i));

  let signedIn = opts.signedIn;
  let role = opts.role;
  let reviewOffline = false;
  let reviewCache = null;
  const exports = [];
  let offline = false;
  let update = opts.update ?? null;
  /** The last failure, classified, as the engine keeps it; null after a success. */
  let problem = null;
  let version = 1;
  /** Lead ids whose decision the server has not recorded yet. */
  let outbox = [];
  /** Decisions in their undo window, oldest first: { id, sendAt, timer }. */
  let windows = [];
  let availability = null;
  let quietHours = null;
  let autostart = false;
  let lastSuccess = iso(NOW);

  function summary(r) {
    const l = r.lead;
    return {
      id: l.id,
      external_id: l.external_id,
      status: r.status,
      name: l.contact.name,
      company: l.contact.company ?? null,
      email: l.contact.email ?? null,
      title: l.contact.title ?? null,
      channel: l.source.channel,
      score: l.score.value,
      assignment_id: l.assignment ? l.assignment.id : null,
      assigned_at: l.assignment ? l.assignment.assigned_at : null,
      sla_due_at: l.assignment ? l.assignment.sla_due_at : null,
      decision: r.decision,
      decision_reason: r.decision_reason,
      decision_note: r.decision_note,
      decision_state: r.decision_state,
      refused_message: r.refused_message,
      taken_away_reason: r.taken_away_reason,
    };
  }

  function counts() {
    const c = { new: 0, accepted: 0, rejected: 0, taken_away: 0 };
    for (const r of rows) c[r.status]++;
    return c;
  }

  function undoable() {
    const now = Date.now();
    return windows
      .filter((w) => w.sendAt > now)
      .map((w) => {
        const r = find(w.id);
        return {
          lead_id: w.id,
          name: r.lead.contact.name,
          decision: r.decision,
          reason: r.decision_reason,
          send_at: iso(w.sendAt),
        };
      });
  }

  function statusView() {
    return {
      sync: {
        connection: offline || (problem && problem.kind !== "incompatible_server") ? "offline" : "online",
        last_success: lastSuccess,
        problem,
        outbox_depth: outbox.length,
        undoable: undoable(),
        cache_version: version,
      },
      counts: counts(),
      availability,
    };
  }

  function sessionView() {
    return {
      signed_in: signedIn,
      server: signedIn ? "http://127.0.0.1:7878" : null,
      role: signedIn ? role : null,
      rep_name: signedIn ? (role === "manager" ? "Morgan Reyes" : "Ava Rossi") : null,
      data_dir: "/home/rep/.local/share/baton/default",
      quiet_hours: quietHours,
      autostart,
      token_notice: signedIn ? opts.tokenNotice : null,
      error: null,
    };
  }

  const err = (code, message) => ({ code, message });
  const find = (id) => rows.find((r) => r.lead.id === id);

  function matches(r, q) {
    const words = q.toLowerCase().split(/\s+/).filter(Boolean);
    const l = r.lead;
    const hay = [l.contact.name, l.contact.company, l.contact.email, l.contact.title, r.decision_note]
      .concat(l.quiz.map((a) => a.answer))
      .filter(Boolean)
      .join(" ")
      .toLowerCase();
    return words.every((w) => hay.includes(w));
  }

  function ordered(list, filter) {
    // As the engine lists: new by SLA, the rest newest first.
    const by = (r) => Date.parse(r.lead.assignment ? r.lead.assignment.sla_due_at : r.lead.updated_at);
    return filter === "new" ? list.sort((a, b) => by(a) - by(b)) : list.sort((a, b) => by(b) - by(a));
  }

  function decide(id, decision, reason, note) {
    if (!signedIn) throw err("not_signed_in", "not signed in");
    const r = find(id);
    if (!r) throw err("lead_not_found", `lead ${id} is not in this profile's inbox`);
    if (r.status !== "new") throw err("not_actionable", `lead ${id} was already decided`);
    if (decision === "reject") {
      const reasonDef = reasons.find((x) => x.code === reason);
      if (!reasonDef) throw err("invalid_input", `reason: unknown reason ${reason}`);
      if (reasonDef.note_required && !(note || "").trim())
        throw err("invalid_input", "note: this reason needs a note");
    }
    r.status = decision === "accept" ? "accepted" : "rejected";
    r.decision = decision;
    r.decision_reason = reason || null;
    r.decision_note = note || null;
    r.decision_state = "pending";
    outbox.push(id);
    const w = { id, sendAt: Date.now() + opts.undoMs, timer: null };
    w.timer = setTimeout(() => endWindow(w, true), opts.undoMs);
    windows.push(w);
    version++;
    setTimeout(emitStatus, 0);
    return summary(r);
  }

  /** A decision's undo window is over: the pusher sends it (when online). */
  function endWindow(w, announce) {
    clearTimeout(w.timer);
    windows = windows.filter((x) => x !== w);
    if (!offline && !problem) drain();
    if (announce) emitStatus();
  }

  function undo(id) {
    if (!signedIn) throw err("not_signed_in", "not signed in");
    const r = find(id);
    if (!r) throw err("lead_not_found", `lead ${id} is not in this profile's inbox`);
    const w = windows.find((x) => x.id === id);
    if (!w || w.sendAt <= Date.now())
      throw err("too_late_to_undo", `too late to undo: your decision on lead ${id} has already been sent to the server`);
    clearTimeout(w.timer);
    windows = windows.filter((x) => x !== w);
    outbox = outbox.filter((x) => x !== id);
    Object.assign(r, { status: "new", decision: null, decision_reason: null, decision_note: null, decision_state: null });
    version++;
    setTimeout(emitStatus, 0);
    return summary(r);
  }

  /** Sends what is past its undo window; what is still in it waits. */
  function drain() {
    const held = new Set(windows.map((w) => w.id));
    const sent = outbox.filter((id) => !held.has(id));
    for (const id of sent) {
      const r = find(id);
      if (r && r.decision_state === "pending") r.decision_state = "confirmed";
    }
    if (sent.length) version++;
    outbox = outbox.filter((id) => held.has(id));
    lastSuccess = iso(Date.now());
    problem = null;
  }

  // Failed intakes as baton-server keeps them: deliveries from inbound
  // sources that could not be mapped. `mapsTo` is what a retry does now
  // (the mapping was fixed: created or updated), or null when it still
  // fails, with `then` as the field and why. One payload holds markup.
  const intake = [
    {
      id: 101, source: "tally", event_id: "tally_evt_77", received_at: iso(NOW - 3 * 60 * MIN), status: "failed",
      field: "body", message: "the payload is not a Tally form response (no data.fields)",
      body: '{"eventId":"tally_evt_77","eventType":"FORM_RESPONSE","data":{}}',
      mapsTo: "updated", leadId: 7,
    },
    {
      id: 102, source: "hubspot", event_id: "hs-8812", received_at: iso(NOW - 50 * MIN), status: "failed",
      field: "score.value", message: 'property hs_lead_score is missing',
      body: '{"objectId":8812,"properties":{"email":"kai@initech.test","hs_lead_score":"high"}}',
      mapsTo: null, then: { field: "score.value", message: 'property hs_lead_score is "high", not a number' }, leadId: null,
    },
    {
      id: 103, source: "typeform", event_id: "evt_tf_3", received_at: iso(NOW - 12 * MIN), status: "failed",
      field: "contact.email", message: 'no answer for field ref "work_email"',
      body: JSON.stringify(
        {
          event_id: "evt_tf_3",
          form_response: {
            answers: [
              { field: { ref: "name" }, type: "text", text: '<img src=x onerror=alert(1)><script>window.__pwned=4</script>' },
              { field: { ref: "email_addr" }, type: "email", email: "eve@evil.test" },
            ],
          },
        },
        null,
        2,
      ),
      mapsTo: "created", leadId: 41,
    },
  ];
  const receiptOf = (r) => {
    const { mapsTo, then, leadId, ...rest } = r;
    return { ...rest };
  };
  const findIntake = (id) => {
    const r = intake.find((x) => x.id === id);
    if (!r) throw err("refused", `the server refused: no failed intake with id ${id}`);
    return r;
  };

  // Webhook endpoints as baton-server lists them (one active, one failing,
  // one disabled), each with its deliveries, newest first. One payload
  // holds markup. Secrets exist only in the answer to a registration.
  const webhookPayload = (type, leadId, at, data) =>
    JSON.stringify({ type, timestamp: at, data: Object.assign({ lead_id: leadId }, data) }, null, 2);
  const webhooks = [
    {
      id: 1, kind: "webhook", url: "https://crm.example.com/hooks/baton", events: ["lead.accepted", "lead.rejected"], description: "CRM sync",
      active: true, last_success_at: iso(NOW - 5 * MIN), pending: 0, created_at: iso(NOW - 30 * 24 * 60 * MIN),
      deliveries: [
        {
          id: 12, message_id: "msg_evt_12", event_type: "lead.accepted", lead_id: 7, occurred_at: iso(NOW - 6 * MIN),
          status: "delivered", attempts: 1, last_attempt_at: iso(NOW - 5 * MIN), last_status: 200, delivered_at: iso(NOW - 5 * MIN),
          payload: webhookPayload("lead.accepted", 7, iso(NOW - 6 * MIN), { rep: { id: 1, name: "Ava Rossi" } }),
        },
      ],
    },
    {
      id: 2, kind: "webhook", url: "https://alerts.example.net/webhook", events: ["lead.routed", "lead.sla_breached"], description: null,
      active: true, failing_since: iso(NOW - 3 * 60 * MIN), last_success_at: iso(NOW - 26 * 60 * MIN), pending: 1,
      created_at: iso(NOW - 10 * 24 * 60 * MIN),
      deliveries: [
        {
          id: 23, message_id: "msg_evt_23", event_type: "lead.routed", lead_id: 14, occurred_at: iso(NOW - 20 * MIN),
          status: "pending", attempts: 2, next_attempt_at: iso(NOW + 10 * MIN), last_attempt_at: iso(NOW - 15 * MIN),
          last_error: "no answer within 15 s",
          payload: webhookPayload("lead.routed", 14, iso(NOW - 20 * MIN), { external_id: "ext-14", team: "emea" }),
        },
        {
          id: 22, message_id: "msg_evt_22", event_type: "lead.sla_breached", lead_id: 12, occurred_at: iso(NOW - 3 * 60 * MIN),
          status: "failed", attempts: 8, last_attempt_at: iso(NOW - 40 * MIN), last_status: 500, last_error: "answered 500",
          payload: webhookPayload("lead.sla_breached", 12, iso(NOW - 3 * 60 * MIN), {
            external_id: '<img src=x onerror=alert(1)><script>window.__pwned=5</script>',
          }),
        },
        {
          id: 21, message_id: "msg_evt_21", event_type: "lead.routed", lead_id: 12, occurred_at: iso(NOW - 26 * 60 * MIN),
          status: "delivered", attempts: 1, last_attempt_at: iso(NOW - 26 * 60 * MIN), last_status: 204,
          delivered_at: iso(NOW - 26 * 60 * MIN),
          payload: webhookPayload("lead.routed", 12, iso(NOW - 26 * 60 * MIN), { external_id: "ext-12" }),
        },
      ],
    },
    {
      id: 3, kind: "webhook", url: "https://old.example.org/baton", events: ["lead.qualified"], description: "Old marketing hook",
      active: false, disabled_reason: "the endpoint answered 410 Gone", disabled_at: iso(NOW - 2 * 60 * MIN),
      last_success_at: iso(NOW - 3 * 24 * 60 * MIN), pending: 0, created_at: iso(NOW - 90 * 24 * 60 * MIN),
      deliveries: [
        {
          id: 31, message_id: "msg_evt_31", event_type: "lead.qualified", lead_id: 9, occurred_at: iso(NOW - 2 * 60 * MIN),
          status: "failed", attempts: 1, last_attempt_at: iso(NOW - 2 * 60 * MIN), last_status: 410, last_error: "answered 410",
          payload: webhookPayload("lead.qualified", 9, iso(NOW - 2 * 60 * MIN), { score: 82 }),
        },
      ],
    },
  ];
  // The server's CRM owner write-backs (from its config's [crm]): listed
  // with their delivery logs, never deleted over the API. One error from
  // the CRM holds markup.
  if (opts.crm) {
    webhooks.push(
      {
        id: 41, kind: "hubspot", url: "https://api.hubapi.com", events: ["lead.accepted"], description: null,
        active: true, failing_since: iso(NOW - 40 * MIN), last_success_at: iso(NOW - 2 * 60 * MIN), pending: 0,
        created_at: iso(NOW - 7 * 24 * 60 * MIN),
        deliveries: [
          {
            id: 412, message_id: "msg_evt_412", event_type: "lead.accepted", lead_id: 7, occurred_at: iso(NOW - 40 * MIN),
            status: "failed", attempts: 1, last_attempt_at: iso(NOW - 40 * MIN), last_status: 404,
            last_error: 'HubSpot answered 404 OBJECT_NOT_FOUND: resource not found <img src=x onerror=alert(1)>',
            payload: webhookPayload("lead.accepted", 7, iso(NOW - 40 * MIN), { external_id: "hubspot:3501" }),
          },
        ],
      },
      {
        id: 42, kind: "salesforce", url: "https://acme.my.salesforce.com", events: ["lead.accepted"], description: null,
        active: true, last_success_at: iso(NOW - 30 * MIN), pending: 0, created_at: iso(NOW - 7 * 24 * 60 * MIN),
        deliveries: [],
      },
    );
  }
  let nextWebhookId = 4;
  const endpointOf = (w) => {
    const { deliveries, ...rest } = w;
    return { ...rest, secret: null };
  };
  const findWebhook = (id) => {
    const w = webhooks.find((x) => x.id === id);
    if (!w) throw err("refused", `the server refused: no webhook with id ${id}`);
    return w;
  };
  const managerOnline = () => {
    if (role !== "manager") throw err("not_actionable", "the review is for managers");
    if (reviewOffline) throw err("offline", "cannot reach the server: connection refused");
  };

  // CSV imports as baton-core and baton-server answer them: the options
  // come in a header (ASCII JSON), the file as the raw body. Headers are
  // matched as the server matches them (a few of its aliases), rows are
  // checked for an email and a numeric score, and leads already imported
  // under a source are updated. `holdImports()` keeps answers back until
  // `releaseImports()`, to see the window busy.
  const imports = [];
  const importedLeads = new Set();
  let importGate = null;
  const ALIASES = {
    external_id: ["external_id", "id", "lead_id"],
    email: ["email", "email_address", "work_email"],
    name: ["name", "full_name"],
    company: ["company", "company_name"],
    score: ["score", "lead_score"],
  };
  const normalise = (h) => h.trim().toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "_").replace(/^_+|_+$/g, "");
  function csvLines(text) {
    // Good enough for the tests' files: quoted cells without line breaks.
    const lines = text.split(/\r?\n/);
    if (lines[lines.length - 1] === "") lines.pop();
    return lines.map((line, i) => {
      const cells = [];
      let cell = "";
      let quoted = false;
      for (let j = 0; j < line.length; j++) {
        const c = line[j];
        if (quoted) {
          if (c === '"' && line[j + 1] === '"') (cell += '"'), j++;
          else if (c === '"') quoted = false;
          else cell += c;
        } else if (c === '"') quoted = true;
        else if (c === ",") cells.push(cell), (cell = "");
        else cell += c;
      }
      if (quoted) return { line: i + 1, error: "unterminated quoted field" };
      cells.push(cell);
      return { line: i + 1, cells };
    });
  }
  function importCsv(bytes, headers) {
    const options = JSON.parse(headers["baton-import-options"]);
    const invalid = (field, message) => ({ outcome: "invalid", field, message });
    if (!/^[a-z0-9_-]{1,64}$/.test(options.source.trim()))
      return invalid("source", "must be 1 to 64 characters of a-z, 0-9, - and _ (it prefixes the leads' ids)");
    if (!bytes.length) return invalid("file", "the file is empty: its first line should name the columns");
    const text = new TextDecoder().decode(bytes);
    imports.push({ options, text });
    const [head, ...rows] = csvLines(text);
    if (head.error) return invalid("header", `the first line is not a CSV header: ${head.error}`);
    const names = head.cells.map((h) => h.trim());
    const columns = [];
    for (const { field, header } of options.mapping) {
      const i = names.findIndex((n) => n === header || normalise(n) === normalise(header));
      if (i < 0) return invalid("mapping", `the file has no column ${JSON.stringify(header)} (its columns: ${names.join(", ")})`);
      columns.push([i, field]);
    }
    names.forEach((n, i) => {
      if (columns.some(([c]) => c === i)) return;
      const field = Object.keys(ALIASES).find((f) => ALIASES[f].includes(normalise(n)) && !columns.some(([, x]) => x === f));
      if (field) columns.push([i, field]);
    });
    const has = (f) => columns.some(([, x]) => x === f);
    if (!has("score"))
      return invalid("header", 'no column holds the score (looked for score, lead_score, hubspotscore, hubspot_score); map one, e.g. --map score="Lead Score"');
    if (!has("external_id") && !has("email"))
      return invalid("header", "no column identifies the leads: an external_id or an email column is needed (a re-import then updates rather than duplicates)");
    columns.sort((a, b) => a[0] - b[0]);
    const summary = {
      source: options.source, dry_run: options.dry_run, routed: !options.no_route && !options.dry_run,
      rows: 0, created: 0, updated: 0, unchanged: 0, refused: 0,
      columns: columns.map(([i, field]) => ({ header: names[i], field })),
      ignored_columns: names.filter((_, i) => !columns.some(([c]) => c === i)),
      refusals: [], elapsed_ms: 1234,
    };
    const refuse = (line, field, message) => {
      summary.refused++;
      if (summary.refusals.length < 100) summary.refusals.push({ line, field, message });
    };
    const max = options.score_max ?? 100;
    for (const row of rows) {
      if (row.error)
        return invalid("file", `line ${row.line} cannot be read as CSV (${row.error}); the ${summary.rows} rows before it were ${options.dry_run ? "checked" : "imported"}`);
      summary.rows++;
      const value = (f) => {
        const c = columns.find(([, x]) => x === f);
        return c ? (row.cells[c[0]] ?? "").trim() : "";
      };
      const email = value("email");
      const score = value("score");
      if (email && !/^[^@\s]+@[^@\s]+$/.test(email)) refuse(row.line, "contact.email", `${JSON.stringify(email)} is not an email address`);
      else if (!score || Number.isNaN(Number(score))) refuse(row.line, "score.value", `${JSON.stringify(score)} is not a number`);
      else if (Number(score) < 0 || Number(score) > max)
        refuse(row.line, "score.value", `${score} is outside 0–${max}; set score_max to the most the file can score`);
      else {
        const id = `${options.source}:${value("external_id") || email.toLowerCase()}`;
        if (importedLeads.has(id)) summary.updated++;
        else summary.created++;
        if (!options.dry_run) importedLeads.add(id);
      }
    }
    return { outcome: "done", summary };
  }

  // The shared definition of a qualified lead, as baton-server keeps its
  // versions (v4 in force; v3 qualified the leads scoring under 60), and
  // the lead view's context as baton-core words it (src/explain.rs): the
  // qualified line, the "How to open" lines that apply, and why the lead
  // came to the rep. One criterion holds markup.
  const definitionReasons = reasons.map((r) => ({ ...r }));
  const definitions = [
    {
      version: 1, threshold: 50, criteria: [], reasons: definitionReasons, effective_at: iso(NOW - 200 * 24 * 60 * MIN),
      author: "config file", note: "Taken from the server's config at start-up", changes: [],
    },
    {
      version: 2, threshold: 55,
      criteria: [
        { kind: "quiz_answer", key: "How big is your team?", value: "50-200", points: 30, meaning: "Teams of 50 to 200 buy within a quarter" },
      ],
      reasons: definitionReasons, effective_at: iso(NOW - 120 * 24 * 60 * MIN), author: "Morgan Reyes",
      note: "Team size counts", changes: ["threshold 50 → 55", "criterion added: How big is your team? = 50-200"],
    },
    {
      version: 3, threshold: 40,
      criteria: [
        { kind: "quiz_answer", key: "How big is your team?", value: "50-200", points: 30, meaning: "Teams of 50 to 200 buy within a quarter" },
      ],
      reasons: definitionReasons, effective_at: iso(NOW - 60 * 24 * 60 * MIN), author: "Morgan Reyes",
      note: "Let webinar leads through while the campaign runs", changes: ["threshold 55 → 40"],
    },
    {
      version: 4, threshold: 60,
      criteria: [
        {
          kind: "quiz_answer", key: "How big is your team?", value: "50-200", points: 30,
          meaning: "Teams of 50 to 200 buy within a quarter", opener: "Open with the routing audit for mid-size floors",
        },
        {
          kind: "quiz_answer", key: "What do you use today?", value: "Spreadsheets", points: 10,
          meaning: "<i>Spreadsheets</i> mean no routing yet <img src=x onerror=window.__pwned=8>",
          opener: "Ask how a lead gets from the sheet to a rep <script>window.__pwned=9</script>",
        },
        { kind: "score_item", key: "Pricing page visits", points: 20, meaning: "Pricing visits show buying intent" },
        {
          kind: "intent", key: "timeline", value: "This quarter", points: 15,
          meaning: "A deadline this quarter", opener: "Ask what must be live by the end of the quarter",
        },
      ],
      reasons: definitionReasons, effective_at: iso(NOW - 20 * 24 * 60 * MIN), author: "Morgan Reyes",
      note: "Back to 60 after the Q3 review", changes: ["threshold 40 → 60", "criterion added: What do you use today? = Spreadsheets", "openers added"],
    },
  ];
  const inForce = () => definitions[definitions.length - 1];
  const same = (a, b) => String(a).trim().toLowerCase() === String(b).trim().toLowerCase();
  function applies(c, lead) {
    const valueOk = (v) => c.value == null || same(c.value, v);
    if (c.kind === "score_item") return lead.score.breakdown.some((b) => same(b.criterion, c.key));
    if (c.kind === "quiz_answer") return lead.quiz.some((q) => same(q.question, c.key) && valueOk(q.answer));
    if (c.kind === "intent") {
      const v = lead.intent[String(c.key).trim().toLowerCase()];
      return v != null && valueOk(v);
    }
    return false;
  }
  const SKIP_WORDS = { away: "away", off_shift: "off shift", absent: "absent", at_cap: "at cap", rejected_before: "rejected it before", expired_before: "let it expire before" };
  const SKIP_SENTENCES = {
    away: "had set themself away",
    off_shift: "was outside their working hours",
    absent: "was away today (an absence)",
    at_cap: "already held as many undecided leads as their cap allows",
    rejected_before: "had rejected this lead before",
    expired_before: "had let this lead's SLA run out before",
  };
  function contextOf(lead) {
    const q = lead.qualification ?? null;
    const definition = q ? (definitions.find((d) => d.version === q.version) ?? null) : null;
    const a = lead.assignment;
    const e = a && a.explanation;
    let why = null;
    if (a && e) {
      let line;
      if (e.account_match && e.account_match.used && e.account_match.rep_id === a.rep_id) {
        line = `Holds the account ${e.account_match.account}`;
      } else {
        const skipped = e.considered.filter((c) => c.skipped).map((c) => `${c.rep_name} ${SKIP_WORDS[c.skipped] ?? "skipped"}`);
        const team = e.team.endsWith("s") ? `${e.team}'` : `${e.team}'s`;
        line = `Next in team ${team} rotation${skipped.length ? ` — skipped: ${skipped.join(", ")}` : ""}`;
      }
      why = {
        line,
        rule: `Rule “${e.rule}”: ${e.rule_detail}`,
        considered: e.considered.map((c) => ({
          rep_id: c.rep_id, rep_name: c.rep_name, chosen: !c.skipped && c.rep_id === a.rep_id, skipped: c.skipped ?? null,
          text: c.skipped ? SKIP_SENTENCES[c.skipped] : "got the lead",
        })),
      };
    } else if (a) {
      why = { line: a.why, rule: `Rule “${a.rule}”`, considered: [] };
    }
    return {
      qualification: q,
      qualified_line: q
        ? q.score >= q.threshold
          ? `Qualified under definition v${q.version} — score ${q.score} ≥ ${q.threshold}`
          : `Below the threshold of definition v${q.version} — score ${q.score} < ${q.threshold}`
        : null,
      definition,
      openers: definition
        ? definition.criteria
            .filter((c) => c.opener && c.opener.trim() && applies(c, lead))
            .map((c) => ({ signal: c.value != null ? `${c.key}: ${c.value}` : c.key, line: c.opener.trim() }))
        : [],
      why,
    };
  }

  /** Checks a draft as baton-server does, naming the field at fault. */
  function draftProblem(d) {
    if (!(d.threshold >= 0 && d.threshold <= 100)) return ["threshold", "must be a score from 0 to 100"];
    if (!d.note.trim()) return ["note", "must not be empty"];
    for (const [i, c] of d.criteria.entries()) {
      if (!["score_item", "quiz_answer", "intent"].includes(c.kind)) return [`criteria[${i}].kind`, "must be score_item, quiz_answer or intent"];
      if (!c.key.trim()) return [`criteria[${i}].key`, "must not be empty"];
      if (c.kind === "intent" && !["need", "timeline", "budget"].includes(c.key.trim().toLowerCase()))
        return [`criteria[${i}].key`, "an intent criterion's key is need, timeline or budget"];
      if (!c.meaning.trim()) return [`criteria[${i}].meaning`, "must not be empty"];
      if (c.points != null && (c.points < -100 || c.points > 100)) return [`criteria[${i}].points`, "must be from -100 to 100"];
    }
    if (!d.reasons.length) return ["reasons", "list 1 to 50 rejection reasons"];
    for (const [i, r] of d.reasons.entries()) {
      if (!/^[a-z0-9_]{1,64}$/.test(r.code)) return [`reasons[${i}].code`, "use 1 to 64 lower-case letters, digits and underscores"];
      if (!r.label.trim()) return [`reasons[${i}].label`, "must not be empty"];
    }
    if (!d.reasons.some((r) => r.code === "other"))
      return ["reasons", 'keep the reason "other" (reps need a way to say what no reason covers)'];
    return null;
  }

  function changesOf(prev, next) {
    const out = [];
    if (prev.threshold !== next.threshold) out.push(`threshold ${prev.threshold} → ${next.threshold}`);
    const key = (c) => `${c.key}${c.value != null ? ` = ${c.value}` : ""}`;
    for (const c of next.criteria) if (!prev.criteria.some((p) => key(p) === key(c))) out.push(`criterion added: ${key(c)}`);
    for (const c of prev.criteria) if (!next.criteria.some((p) => key(p) === key(c))) out.push(`criterion removed: ${key(c)}`);
    return out;
  }

  // A rep's working hours, checked as baton-server's shifts.rs does; the
  // field named as baton-core hands it on (without `schedule.`).
  const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
  function scheduleProblem(s) {
    if (!s) return null;
    if (!s.time_zone || !/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(s.time_zone) || s.time_zone.startsWith("Mars"))
      return ["time_zone", `"${s.time_zone}" is not a known IANA time zone name; use one such as Europe/Berlin or America/New_York`];
    for (const [i, h] of s.hours.entries()) {
      if (!HHMM.test(h.start)) return [`hours[${i}].start`, `"${h.start}" is not a time of day; write HH:MM from 00:00 to 23:59`];
      if (!HHMM.test(h.end) && h.end !== "24:00") return [`hours[${i}].end`, `"${h.end}" is not a time of day; write HH:MM from 00:01 to 24:00 (24:00 is the end of the day)`];
      if (h.end <= h.start) return [`hours[${i}].end`, `${h.end} is before the start ${h.start}; write a shift across midnight as two stretches`];
    }
    for (const [i, a] of s.absences.entries()) {
      if (!/^\d{4}-\d\d-\d\d$/.test(a.from)) return [`absences[${i}].from`, `"${a.from}" is not a date; write YYYY-MM-DD, e.g. 2027-08-02`];
      if (!/^\d{4}-\d\d-\d\d$/.test(a.to)) return [`absences[${i}].to`, `"${a.to}" is not a date; write YYYY-MM-DD, e.g. 2027-08-02`];
      if (a.to < a.from) return [`absences[${i}].to`, `${a.to} is before from ${a.from}; an absence runs from its first day to its last, both included`];
    }
    return null;
  }
  let mySchedule = null;
  let scheduleOffline = false;

  // Team administration: the teams, their reps (one holds markup), the
  // managers and the audit log as baton-server keeps them.
  const teamsList = [
    { name: "emea", sla_seconds: 3600, sla_business_hours: true, account_matching: true, remind_at_percent: 50 },
    { name: "americas", sla_seconds: 1800, sla_business_hours: false, account_matching: false, remind_at_percent: 0 },
  ];
  const repOf = (id, name, team, over) => Object.assign(
    {
      id, name, email: `${name.split(" ")[0].toLowerCase().replace(/[^a-z]/g, "")}@baton.test`, team, weight: 1, max_open: 25,
      availability: "available", open_leads: 2, active: true, on_shift: true, schedule: null,
    },
    over || {},
  );
  const teamReps = [
    repOf(1, "Ava Rossi", "emea", { weight: 2, schedule: { time_zone: "Europe/Berlin", hours: [{ day: "mon", start: "09:00", end: "17:00" }], absences: [] } }),
    repOf(2, "Ben Ortiz", "emea", { on_shift: false }),
    repOf(3, "Cid Park", "emea", { open_leads: 25 }),
    repOf(4, "<b>Dee</b> Vance <script>window.__pwned=11</script>", "americas", { availability: "away" }),
  ];
  let nextRepId = 5;
  const managers = [
    { id: 1, name: "Morgan Reyes", email: "morgan@baton.test", admin: true, teams: [] },
    { id: 2, name: "Ines Duarte", email: "ines@baton.test", admin: false, teams: ["americas"] },
  ];
  const audit = [];
  let nextAuditId = 1;
  function record(action, subject, detail, at = Date.now()) {
    audit.unshift({ id: nextAuditId++, at: iso(at), actor: "Morgan Reyes", action, subject, detail });
  }
  for (let i = 0; i < 130; i++) record("rep.updated", `rep ${(i % 4) + 1}`, `weight ${(i % 3) + 1}`, NOW - (200 - i) * 60 * MIN);
  record("definition.published", "definition v4", "Back to 60 after the Q3 review <b>bold</b>", NOW - 20 * 24 * 60 * MIN);
  const admin = () => role === "manager" && opts.admin !== false;
  const needAdmin = () => {
    managerOnline();
    if (!admin()) throw err("refused", "the server refused: only an admin may do this");
  };
  const findRep = (id) => {
    const r = teamReps.find((x) => x.id === id);
    if (!r) throw err("refused", `the server refused: rep ${id} does not exist in your teams`);
    return r;
  };
  const invalidField = (field, message) => ({ outcome: "invalid", field, message });
  const saved = (value) => ({ outcome: "saved", value });

  const calls = [];
  const commands = {
    session_info: () => sessionView(),
    sign_in: ({ server, token }) => {
      if (!token || token.trim() === "") throw err("invalid_input", "the token is empty");
      if (token === "bad") throw err("unauthorized", "the server refused the token: unknown token");
      signedIn = true;
      if (token.startsWith("btn_mgr_")) role = "manager";
      return Object.assign(sessionView(), { server });
    },
    sign_out: () => {
      // As the engine's flush: undo windows end, and what cannot be sent
      // keeps the profile signed in.
      for (const w of windows.slice()) endWindow(w, false);
      if (outbox.length) {
        throw err(
          "not_actionable",
          `${outbox.length} of your decisions have not reached the server yet: sign out once Baton is online and they are sent`,
        );
      }
      signedIn = false;
      return sessionView();
    },
    status: () => {
      if (!signedIn) throw err("not_signed_in", "not signed in");
      return statusView();
    },
    inbox: ({ filter, search, offset, limit }) => {
      if (!signedIn) throw err("not_signed_in", "not signed in");
      let list = filter === "all" ? rows.slice() : rows.filter((r) => r.status === filter);
      if (search) list = list.filter((r) => matches(r, search));
      list = ordered(list, filter);
      const page = list.slice(offset, offset + limit).map(summary);
      return {
        rows: page,
        offset,
        total: search ? null : list.length,
        has_more: offset + limit < list.length,
      };
    },
    lead: ({ id }) => {
      const r = find(id);
      if (!r) throw err("lead_not_found", `lead ${id} is not in this profile's inbox`);
      return {
        summary: summary(r),
        lead: r.lead,
        history: [{ at: r.lead.assignment.assigned_at, kind: "assigned", detail: "Assigned to you (emea-by-country)" }],
        context: contextOf(r.lead),
      };
    },
    reasons: () => reasons,
    accept: ({ id }) => decide(id, "accept", null, null),
    reject: ({ id, reason, note }) => decide(id, "reject", reason, note),
    undo: ({ id }) => undo(id),
    set_availability: ({ availability: a }) => {
      availability = a;
      return statusView();
    },
    set_quiet_hours: ({ window }) => {
      if (window && !/^\d\d:\d\d-\d\d:\d\d$/.test(window))
        throw err("invalid_input", "quiet hours look like 22:00-07:00");
      quietHours = window;
      return sessionView();
    },
    set_autostart: ({ enabled }) => {
      autostart = enabled;
      return sessionView();
    },
    review_load: ({ query }) => {
      if (role !== "manager") throw err("not_actionable", "the review is for managers");
      if (reviewOffline) {
        if (!reviewCache) throw err("offline", "cannot reach the server: connection refused");
        return Object.assign({}, reviewCache, { offline: true });
      }
      reviewCache = reviewData(query);
      return reviewCache;
    },
    review_cached: () => (reviewCache ? Object.assign({}, reviewCache, { offline: true }) : null),
    review_export: ({ table }) => {
      if (!reviewCache) throw err("not_actionable", "load a review before exporting it");
      const path = `/home/manager/Downloads/baton-${table.replace(/_/g, "-")}-2026-11-25.csv`;
      exports.push(table);
      return path;
    },
    review_lead: ({ id }) => {
      const r = find(id);
      if (!r) throw err("server_error", `the server answered 404: lead ${id} does not exist`);
      return {
        lead: r.lead,
        history: {
          lead_id: id,
          events: [
            { at: r.lead.created_at, kind: "received", detail: "Received from Demo marketing automation" },
            { at: r.lead.assignment.assigned_at, kind: "assigned", rep_id: 1, rep_name: "Ava Rossi", detail: "Offered to Ava Rossi (emea-by-country)" },
            { at: r.lead.assignment.assigned_at, kind: "rejected", rep_id: 1, rep_name: "Ava Rossi", detail: "rejected by Ava Rossi: Other (note required) — <i>duplicate</i>" },
          ],
          assignments: [r.lead.assignment],
          decisions: [],
        },
      };
    },
    intake_failures: ({ query }) => {
      if (role !== "manager") throw err("not_actionable", "the review is for managers");
      if (reviewOffline) throw err("offline", "cannot reach the server: connection refused");
      const limit = Math.min(Math.max(query.limit ?? 50, 1), 200);
      const list = intake
        .filter((r) => (query.status ? r.status === query.status : r.status !== "applied"))
        .filter((r) => !query.source || r.source === query.source)
        .filter((r) => query.before == null || r.id < query.before)
        .sort((a, b) => b.id - a.id);
      const page = list.slice(0, limit).map(receiptOf);
      return { receipts: page, next_before: list.length > limit ? page[page.length - 1].id : null };
    },
    retry_intake: ({ id }) => {
      if (reviewOffline) throw err("offline", "cannot reach the server: connection refused");
      const r = findIntake(id);
      if (r.status === "dismissed")
        throw err("refused", `the server refused: failed intake ${id} was dismissed; it cannot be retried`);
      // Retried before (by another manager, say): nothing changes this time.
      if (r.status === "reprocessed") return { outcome: "duplicate", receipt_id: id, lead_id: r.lead_id };
      if (!r.mapsTo) {
        Object.assign(r, r.then);
        return { outcome: "failed", receipt_id: id, field: r.field, message: r.message };
      }
      Object.assign(r, { status: "reprocessed", outcome: r.mapsTo, lead_id: r.leadId, resolved_at: iso(Date.now()) });
      return { outcome: r.mapsTo, receipt_id: id, lead_id: r.leadId };
    },
    dismiss_intake: ({ id }) => {
      if (reviewOffline) throw err("offline", "cannot reach the server: connection refused");
      const r = findIntake(id);
      if (r.status === "reprocessed")
        throw err("refused", `the server refused: intake ${id} is not a failed intake (it made a lead); nothing to dismiss`);
      if (r.status === "failed") Object.assign(r, { status: "dismissed", resolved_at: iso(Date.now()) });
      return receiptOf(r);
    },
    webhooks_list: () => {
      managerOnline();
      return { webhooks: webhooks.map(endpointOf) };
    },
    webhook_create: ({ webhook }) => {
      managerOnline();
      const url = webhook.url.trim();
      const invalid = (field, message) => ({ outcome: "invalid", field, message });
      if (!/^[a-z]+:\/\/[^/]+/i.test(url)) return invalid("url", "is not a URL such as https://hooks.example.com/baton");
      if (!url.startsWith("https://"))
        return invalid("url", "must be https (http is accepted only with [webhooks] allow_private_targets)");
      if (/^https:\/\/(localhost|127\.|10\.|192\.168\.)/.test(url))
        return invalid(
          "url",
          "resolves to 127.0.0.1, a loopback, private or link-local address; Baton sends events only to public endpoints (set [webhooks] allow_private_targets = true to allow it)",
        );
      if (!webhook.events.length) return invalid("events", 'name at least one event, e.g. ["lead.accepted", "lead.rejected"]');
      if (webhooks.length >= 50)
        throw err("refused", "the server refused: this server already has 50 webhooks, the most it holds; delete one first");
      const id = nextWebhookId++;
      const w = {
        id, kind: "webhook", url, events: webhook.events, description: webhook.description ?? null, active: true, pending: 0,
        created_at: iso(Date.now()), deliveries: [],
      };
      webhooks.push(w);
      return { outcome: "created", webhook: { ...endpointOf(w), secret: `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw${id}` } };
    },
    webhook_delete: ({ id }) => {
      managerOnline();
      // As baton-core: an endpoint already gone counts as deleted.
      const i = webhooks.findIndex((x) => x.id === id);
      if (i >= 0 && webhooks[i].kind !== "webhook")
        throw err(
          "refused",
          `the server refused: webhook ${id} is the ${webhooks[i].kind} write-back from the server's config ([crm]); remove it there`,
        );
      if (i >= 0) webhooks.splice(i, 1);
      return null;
    },
    webhook_deliveries: ({ id, before, limit }) => {
      managerOnline();
      const w = findWebhook(id);
      const n = Math.min(Math.max(limit ?? 50, 1), 200);
      const list = w.deliveries.filter((d) => before == null || d.id < before).sort((a, b) => b.id - a.id);
      const page = list.slice(0, n);
      return { deliveries: page, next_before: list.length > n ? page[page.length - 1].id : null };
    },
    webhook_replay: ({ id, delivery }) => {
      managerOnline();
      const w = findWebhook(id);
      if (!w.active)
        throw err(
          "refused",
          `the server refused: webhook ${id} is disabled (${w.disabled_reason}); register the endpoint again to send to it`,
        );
      const d = w.deliveries.find((x) => x.id === delivery);
      if (!d) throw err("refused", `the server refused: webhook ${id} has no delivery ${delivery}`);
      if (d.status !== "pending") w.pending++;
      Object.assign(d, { status: "pending", next_attempt_at: iso(Date.now()), delivered_at: null });
      return { ...d };
    },
    import_csv: async (bytes, { headers }) => {
      managerOnline();
      if (!(bytes instanceof Uint8Array)) throw err("invalid_input", "send the CSV file's bytes as the request's body");
      const answer = importCsv(bytes, headers || {});
      if (importGate) await importGate.promise;
      return answer;
    },
    lead_definition: ({ version }) => {
      if (!signedIn) throw err("not_signed_in", "not signed in");
      const d = definitions.find((x) => x.version === version);
      if (!d) throw err("refused", `the server refused: no definition v${version}; GET /v1/definitions lists them`);
      return d;
    },
    my_schedule: () => {
      if (!signedIn || role !== "rep") throw err("not_actionable", "working hours are a rep's: this profile is not a rep's");
      return { schedule: mySchedule, on_shift: true, offline: scheduleOffline };
    },
    set_my_schedule: ({ schedule }) => {
      if (!signedIn) throw err("not_signed_in", "not signed in");
      if (scheduleOffline) throw err("offline", "cannot reach the server: connection refused");
      const p = scheduleProblem(schedule);
      if (p) return invalidField(...p);
      mySchedule = schedule;
      return saved({ schedule, on_shift: true, offline: false });
    },
    definitions_list: () => {
      managerOnline();
      return { in_force: inForce().version, definitions: definitions.slice().reverse() };
    },
    definition_preview: ({ team, request }) => {
      managerOnline();
      if (request.threshold > 100) return invalidField("threshold", "must be a score from 0 to 100");
      if (Date.parse(request.from) >= Date.parse(request.to)) return invalidField("from", "the period's start must be before its end");
      // Counted as the review's figures are made up: the generated leads,
      // and the first 60 of them decided (one in three rejected).
      const scores = rows.map((r) => r.lead.score.value);
      const current = inForce().threshold;
      const t = request.threshold;
      const decided = rows.slice(0, 60).map((r, i) => ({ score: r.lead.score.value, accepted: i % 3 !== 0 }));
      const dc = decided.filter((d) => d.score >= current);
      const dp = decided.filter((d) => d.score >= t);
      const acc = (l) => l.filter((d) => d.accepted).length;
      return saved({
        from: request.from, to: request.to, current_threshold: current, proposed_threshold: t, leads: scores.length,
        qualified_current: scores.filter((s) => s >= current).length, qualified_proposed: scores.filter((s) => s >= t).length,
        newly_qualified: scores.filter((s) => s >= t && s < current).length,
        newly_unqualified: scores.filter((s) => s < t && s >= current).length,
        decided_current: dc.length, accepted_current: acc(dc), decided_proposed: dp.length, accepted_proposed: acc(dp),
        acceptance_current: dc.length ? acc(dc) / dc.length : null, acceptance_proposed: dp.length ? acc(dp) / dp.length : null,
      });
    },
    definition_publish: ({ draft }) => {
      managerOnline();
      if (!admin()) throw err("refused", "the server refused: only an admin may publish a definition");
      const p = draftProblem(draft);
      if (p) return invalidField(...p);
      const prev = inForce();
      const d = {
        version: prev.version + 1, threshold: draft.threshold, criteria: draft.criteria, reasons: draft.reasons,
        effective_at: iso(Date.now()), author: "Morgan Reyes", note: draft.note, changes: changesOf(prev, draft),
      };
      definitions.push(d);
      record("definition.published", `definition v${d.version}`, draft.note);
      return saved(d);
    },
    definition_outcomes: () => {
      managerOnline();
      return {
        versions: definitions.map((d, i) => ({
          version: d.version, threshold: d.threshold, effective_at: d.effective_at,
          until: definitions[i + 1] ? definitions[i + 1].effective_at : null,
          leads: 100 + i * 10, qualified: 60 + i * 5, offers: 55 + i * 5, accepted: 30 + i * 6, rejected: 20 - i,
          acceptance_rate: (30 + i * 6) / (50 + i * 5), median_decision_secs: 900 - i * 120,
          reasons: [["no_budget", 8 - i], ["not_a_fit", 3]],
        })),
      };
    },
    team_overview: () => {
      managerOnline();
      const manager = { id: 1, name: "Morgan Reyes", email: "", admin: admin(), teams: admin() ? [] : ["emea"] };
      const teams = teamsList.filter((t) => manager.admin || manager.teams.includes(t.name));
      const reps = teamReps
        .filter((r) => teams.some((t) => t.name === r.team))
        .map((r) => ({ ...r }))
        .sort((a, b) => a.team.localeCompare(b.team) || a.name.localeCompare(b.name));
      return { manager, teams, reps };
    },
    rep_create: ({ rep }) => {
      managerOnline();
      if (!rep.name.trim()) return invalidField("name", "must not be empty");
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(rep.email.trim())) return invalidField("email", `${JSON.stringify(rep.email)} is not an email address`);
      if (!teamsList.some((t) => t.name === rep.team)) return invalidField("team", `team ${JSON.stringify(rep.team)} is not in the config`);
      if (rep.weight != null && (rep.weight < 1 || rep.weight > 1000)) return invalidField("weight", "must be from 1 to 1000");
      if (rep.max_open != null && (rep.max_open < 1 || rep.max_open > 100000)) return invalidField("max_open", "must be from 1 to 100000");
      const r = repOf(nextRepId++, rep.name.trim(), rep.team, { email: rep.email.trim(), weight: rep.weight ?? 1, max_open: rep.max_open ?? 20, open_leads: 0 });
      teamReps.push(r);
      record("rep.created", `rep ${r.id}`, `${r.name} <${r.email}> joined team "${r.team}"`);
      return saved({ rep: { ...r }, token: `btn_rep_k3Y9fQ2xW8pL5mN7vB1c${r.id}` });
    },
    rep_update: ({ id, change }) => {
      managerOnline();
      const r = findRep(id);
      if (change.weight != null && (change.weight < 1 || change.weight > 1000)) return invalidField("weight", "must be from 1 to 1000");
      if (change.max_open != null && (change.max_open < 1 || change.max_open > 100000)) return invalidField("max_open", "must be from 1 to 100000");
      if (change.team != null && !teamsList.some((t) => t.name === change.team)) return invalidField("team", `team ${JSON.stringify(change.team)} is not in the config`);
      for (const k of ["team", "weight", "max_open", "active"]) if (change[k] != null) r[k] = change[k];
      if (change.active === false) Object.assign(r, { open_leads: 0, on_shift: false });
      record("rep.updated", `rep ${id}`, JSON.stringify(change));
      return saved({ ...r });
    },
    rep_schedule: ({ id, schedule }) => {
      managerOnline();
      const r = findRep(id);
      const p = scheduleProblem(schedule);
      if (p) return invalidField(...p);
      r.schedule = schedule;
      record("rep.schedule", `rep ${id}`, schedule ? `hours set in ${schedule.time_zone}` : "hours cleared");
      return saved({ ...r });
    },
    managers_list: () => {
      needAdmin();
      return { managers: managers.map((m) => ({ ...m, teams: [...m.teams] })) };
    },
    manager_scope: ({ id, scope }) => {
      needAdmin();
      const m = managers.find((x) => x.id === id);
      if (!m) throw err("refused", `the server refused: manager ${id} does not exist`);
      const unknown = scope.teams.find((t) => !teamsList.some((x) => x.name === t));
      if (unknown) return invalidField("teams", `no team is named ${JSON.stringify(unknown)}; GET /v1/teams lists them`);
      if (id === 1 && !scope.admin) return invalidField("admin", "you cannot take away your own admin role; ask another admin");
      Object.assign(m, { admin: scope.admin, teams: [...scope.teams].sort() });
      record("manager.scope", `manager ${id}`, scope.admin ? "admin (every team)" : `manages ${m.teams.join(", ") || "no team"}`);
      return saved({ ...m });
    },
    update_notice: () => update,
    open_update: ({ link }) => {
      const url = link === "download" ? update?.download_url : link === "notes" ? update?.notes_url : undefined;
      if (!url) throw err("not_actionable", "no such page was announced for this release");
      return null;
    },
    audit_log: ({ before, limit }) => {
      needAdmin();
      const n = Math.min(Math.max(limit ?? 100, 1), 1000);
      const list = audit.filter((e) => before == null || e.id < before);
      const page = list.slice(0, n);
      return { entries: page, next_before: page.length === n && list.length > n ? page[n - 1].id : null };
    },
    sync_now: () => {
      if (!offline && (!problem || problem.kind === "offline")) drain();
      return statusView();
    },
  };

  // A manager's review: decisions made up from the generated leads, with
  // reasons and notes (one note holds markup).
  function reviewData(query) {
    const reps = ["Ava Rossi", "Jonas Berg", "Maya Patel"];
    const reasonCodes = [
      ["no_budget", "No budget"],
      ["not_decision_maker", "Not a decision maker"],
      ["other", "Other (note required)"],
    ];
    const log = rows.slice(0, 60).map((r, i) => {
      const accepted = i % 3 !== 0;
      const reason = accepted ? null : reasonCodes[i % 9 === 0 ? 2 : (i / 3) % 2 === 0 ? 0 : 1][0];
      const note = reason === "other" ? (i === 0 ? "<b>Student</b> project <script>window.__pwned=9</script>" : "Duplicate of an open deal") : null;
      const assigned = Date.parse(r.lead.assignment.assigned_at);
      return {
        decision_id: 5000 + i,
        lead_id: r.lead.id,
        external_id: r.lead.external_id,
        lead_name: r.lead.contact.name,
        company: r.lead.contact.company,
        source: r.lead.source.channel,
        score: r.lead.score.value,
        rep_id: (i % 3) + 1,
        rep_name: reps[i % 3],
        decision: accepted ? "accept" : "reject",
        reason,
        note,
        assigned_at: iso(assigned),
        decided_at: iso(assigned + (i + 1) * 45000),
        seconds_to_decision: (i + 1) * 45,
      };
    });
    const rowOf = (key, label, entries) => {
      const accepted = entries.filter((e) => e.decision === "accept").length;
      const rejected = entries.length - accepted;
      const t = entries.filter((e) => e.decision === "accept").map((e) => e.seconds_to_decision).sort((a, b) => a - b);
      return {
        key, label, assigned: entries.length, accepted, rejected,
        acceptance_rate: entries.length ? accepted / entries.length : null,
        median_seconds_to_accept: t.length ? t[Math.floor(t.length / 2)] : null,
        p90_seconds_to_accept: t.length ? t[Math.floor(t.length * 0.9)] : null,
        sla_breaches: 0,
        median_seconds_to_decision: entries.length ? entries[Math.floor(entries.length / 2)].seconds_to_decision : null,
        p90_seconds_to_decision: entries.length ? entries[Math.floor(entries.length * 0.9)].seconds_to_decision : null,
        decided_within_5_min: entries.length ? entries.filter((e) => e.seconds_to_decision <= 300).length / entries.length : null,
        decided_within_1_hour: entries.length ? entries.filter((e) => e.seconds_to_decision <= 3600).length / entries.length : null,
        decision_time_histogram: [60, 300, 900, 3600, 14400, 86400, Infinity].map((b, i, all) =>
          entries.filter((e) => e.seconds_to_decision <= b && (i === 0 || e.seconds_to_decision > all[i - 1])).length,
        ),
      };
    };
    const group = (f) => {
      const m = new Map();
      for (const e of log) m.set(f(e), [...(m.get(f(e)) || []), e]);
      return [...m.entries()].sort().map(([k, es]) => rowOf(k, k, es));
    };
    const bandOf = (s) => { const low = Math.min(Math.floor(s / 10) * 10, 90); return low === 90 ? "90-100" : `${low}-${low + 9}`; };
    const rejections = log.filter((e) => e.reason);
    const byReason = reasonCodes
      .map(([code, label]) => ({ code, label, rejections: rejections.filter((e) => e.reason === code).length }))
      .filter((r) => r.rejections)
      .map((r) => Object.assign(r, { share: r.rejections / rejections.length }));
    const bands = group((e) => bandOf(e.score)).map((r) => ({
      band: r.key, low: Number(r.key.split("-")[0]), accepted: r.accepted, rejected: r.rejected, acceptance_rate: r.acceptance_rate,
    }));
    return {
      handoff: {
        from: query.from, to: query.to,
        totals: rowOf("all", "All assignments", log),
        by_rep: group((e) => e.rep_name),
        by_source: group((e) => e.source),
        by_score_band: group((e) => bandOf(e.score)),
        by_campaign: group((e) => (e.score >= 70 ? "spring-webinar" : "")).map((r) => ({ ...r, label: r.key || "No campaign" })),
        by_reason: byReason,
        by_team: [rowOf("emea", "emea", log)],
        reasons_by_rep: [...rejections.reduce((m, e) => {
          const k = `${e.rep_id}|${e.reason}`;
          const r = m.get(k) || { key: String(e.rep_id), label: e.rep_name, code: e.reason, reason_label: e.reason, rejections: 0 };
          r.rejections++;
          return m.set(k, r);
        }, new Map()).values()],
        reasons_by_source: [],
        daily: [
          { day: "2026-11-24", assigned: 20, accepted: 12, rejected: 8, acceptance_rate: 0.6, median_seconds_to_decision: 600, p90_seconds_to_decision: 2400, decided_within_1_hour: 0.95 },
          { day: "2026-11-25", assigned: log.length - 20, accepted: 15, rejected: 5, acceptance_rate: 0.75, median_seconds_to_decision: 900, p90_seconds_to_decision: 3000, decided_within_1_hour: 0.9 },
        ],
        weekly: [
          { day: "2026-11-23", assigned: log.length, accepted: 27, rejected: 13, acceptance_rate: 27 / 40, median_seconds_to_decision: 780, p90_seconds_to_decision: 2900, decided_within_1_hour: 0.925 },
        ],
        queue_waits: [
          { team: "emea", queued: 9, assigned: 6, withdrawn: 1, waiting: 2, median_wait_seconds: 1260, p90_wait_seconds: 5400, longest_wait_seconds: 9000 },
        ],
        fairness: reps.map((name, i) => ({
          rep_id: i + 1, rep_name: name, team: "emea", weight: i + 1, max_open: 25,
          offered: log.filter((e) => e.rep_name === name).length, accepted: 0, rerouted: i,
          share_of_offers: log.filter((e) => e.rep_name === name).length / log.length, share_of_weight: (i + 1) / 6,
        })),
        feedback_log: log.slice().reverse(),
        feedback_log_truncated: false,
      },
      calibration: {
        from: query.from, to: query.to, threshold: 60,
        decided: log.length, accepted: log.filter((e) => e.decision === "accept").length,
        acceptance_rate: log.filter((e) => e.decision === "accept").length / log.length,
        by_band: bands,
        suggestion: query.target_rate == null ? null : {
          target_rate: query.target_rate, threshold: 72, acceptance_rate: 0.81, decided_at_or_above: 31,
          leads_to_sales: 0, leads_from_sales: 12,
        },
        by_source: [
          { source: "paid_search", decided: 24, rejected: 15, expected_rejected: 8.5, rejection_ratio: 1.76, z_score: 2.9, flagged: true },
          { source: "webinar", decided: 24, rejected: 5, expected_rejected: 8.1, rejection_ratio: 0.62, z_score: -1.3, flagged: false },
        ],
      },
      queue: [{ lead_id: 999, external_id: "q-1", name: "Waiting Walter", company: "Queue Ltd", score: 77, team: "emea", queued_since: iso(Date.now() - 42 * MIN) }],
      fetched_at: iso(Date.now()),
      offline: false,
    };
  }

  const callbacks = new Map();
  let nextCallback = 1;
  const listeners = new Map(); // event -> Set of callback ids

  function emit(event, payload) {
    for (const id of listeners.get(event) || []) {
      const cb = callbacks.get(id);
      if (cb) cb({ event, id, payload });
    }
  }

  function emitStatus() {
    emit("status", statusView());
  }

  win.__TAURI_INTERNALS__ = {
    transformCallback(cb, once) {
      const id = nextCallback++;
      callbacks.set(id, (data) => {
        if (once) callbacks.delete(id);
        return cb && cb(data);
      });
      return id;
    },
    unregisterCallback(id) {
      callbacks.delete(id);
    },
    convertFileSrc: (p) => p,
    metadata: { currentWindow: { label: "main" }, currentWebview: { label: "main", windowLabel: "main" } },
    async invoke(cmd, args, options) {
      calls.push(options ? { cmd, args, options } : { cmd, args });
      if (cmd === "plugin:event|listen") {
        if (!listeners.has(args.event)) listeners.set(args.event, new Set());
        listeners.get(args.event).add(args.handler);
        return args.handler;
      }
      if (cmd === "plugin:event|unlisten") return null;
      const f = commands[cmd];
      if (!f) throw err("unknown_command", `the fake shell has no command ${cmd}`);
      return f(args || {}, options || {});
    },
  };
  win.__TAURI_EVENT_PLUGIN_INTERNALS__ = { unregisterListener() {} };

  win.__fake = {
    /** A new answer from the shell's update check (as its `update` event). */
    setUpdate(n) {
      update = n;
      emit("update", n);
    },
    calls,
    rows,
    definitions,
    teamReps,
    managers,
    audit,
    /** The rep's own hours: the server cannot be reached (the copy last seen shows). */
    setScheduleOffline(v) {
      scheduleOffline = v;
    },
    emitStatus,
    emit,
    setOffline(v) {
      offline = v;
      if (v) problem = { kind: "offline", message: "cannot reach the server: connection refused" };
      else drain();
      version++;
      emitStatus();
    },
    /** The last exchange with the server failed (or, with null, succeeded). */
    setProblem(kind, message) {
      problem = kind ? { kind, message } : null;
      if (!problem && !offline) drain();
      emitStatus();
    },
    /** Ends every undo window now, as if their time came; `announce: false`
     * holds the status event back (the window has not heard yet). */
    endUndoWindows(announce = true) {
      for (const w of windows.slice()) endWindow(w, false);
      version++;
      if (announce) emitStatus();
    },
    addLead(over) {
      addRow(makeLead(rows.length, over));
      version++;
      emitStatus();
      return rows.length;
    },
    /** The server refuses the pending decision on a lead (409): the
     * engine says so with an `engine` event, and the status moves. */
    refuse(id, message) {
      const r = find(id);
      const w = windows.find((x) => x.id === id);
      if (w) {
        clearTimeout(w.timer);
        windows = windows.filter((x) => x !== w);
      }
      r.decision_state = "refused";
      r.refused_message = message;
      r.status = "taken_away";
      outbox = outbox.filter((x) => x !== id);
      version++;
      emit("engine", { kind: "decision_refused", lead_id: id, name: r.lead.contact.name, message });
      emitStatus();
    },
    outboxDepth: () => outbox.length,
    setReviewOffline(v) {
      reviewOffline = v;
    },
    /** Another manager settled a failed intake meanwhile: `dismissed`, or
     * `reprocessed` (its retry made a lead). */
    settleIntake(id, status) {
      const r = findIntake(id);
      r.status = status;
      if (status === "reprocessed") Object.assign(r, { outcome: r.mapsTo ?? "created", lead_id: r.leadId ?? 1 });
    },
    intake,
    /** The server disabled an endpoint meanwhile (410 Gone, or days of failure). */
    disableWebhook(id, reason) {
      Object.assign(findWebhook(id), { active: false, disabled_reason: reason, disabled_at: iso(Date.now()) });
    },
    webhooks,
    exports,
    /** The imports the shell was sent: their options and the file's text. */
    imports,
    /** Answers to imports wait until `releaseImports()`. */
    holdImports() {
      let release;
      const promise = new Promise((r) => (release = r));
      importGate = { promise, release };
    },
    releaseImports() {
      importGate?.release();
      importGate = null;
    },
  };
})(window);
