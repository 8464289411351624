// PlexSync page for Stash's UI (docs/ui.md). Plain JavaScript, no build step: Stash loads this
// file as a classic <script> before its first render, so everything runs inside one IIFE with no
// import/export. It uses Stash's own React from window.PluginApi (a second React copy would break
// hooks), talks only to Stash's own GraphQL endpoint (`graphql` under Stash's <base href>, so it
// works behind a reverse proxy under a subpath) and fetches nothing else, so the page works
// offline and within Stash's Content-Security-Policy. Needs Stash v0.26.0 or later.
//
// Data: the `page_status` plugin operation (runPluginOperation; plexsync/tasks/page.py) answers
// the status JSON from local state only, so the page polls it. Buttons queue the plugin's tasks
// with runPluginTask and follow the job with findJob; a task's result comes back through the
// next page_status answer (`results`, matched by the `ui_request` id the page sent), because
// Stash only logs a plugin job's output.
(function () {
  "use strict";
  var api = window.PluginApi;
  if (!api || !api.React) {
    return;
  }
  var React = api.React;
  var h = React.createElement;
  var useState = React.useState;
  var useEffect = React.useEffect;
  var useRef = React.useRef;
  var libs = api.libraries || {};
  var Router = libs.ReactRouterDOM || {};

  var PLUGIN_ID = "PlexSync"; // the manifest's file name (Stash's plugin id)
  var ROUTE = "/plugins/plexsync"; // not /plugin/...: Stash's server owns that prefix
  var POLL_MS = 5000;
  var JOB_POLL_MS = 1000;
  var DONE = { FINISHED: true, CANCELLED: true, FAILED: true };

  // GraphQL documents (checked against Stash's schema by tests/contract/test_ui_documents.py).
  var STATUS_DOC = `mutation PlexSyncPageStatus($plugin: ID!, $args: Map) {
  runPluginOperation(plugin_id: $plugin, args: $args)
}`;
  var RUN_TASK_DOC = `mutation PlexSyncRunTask($plugin: ID!, $task: String!, $args: Map) {
  runPluginTask(plugin_id: $plugin, task_name: $task, args_map: $args)
}`;
  var FIND_JOB_DOC = `query PlexSyncFindJob($input: FindJobInput!) {
  findJob(input: $input) { id status description progress error startTime endTime }
}`;
  var SCENES_DOC = `query PlexSyncScenes($ids: [ID!]) {
  findScenes(ids: $ids, filter: { per_page: -1 }) { scenes { id title files { basename } } }
}`;

  var TASKS = {
    process: "Process Queue",
    recover: "Recover DLQ Jobs",
    health: "Health Check",
    reconcile: {
      all: "Reconcile Library (All)",
      recent: "Reconcile Library (Recent)",
      "7days": "Reconcile Library (Last 7 Days)",
    },
  };
  var TASK_MODES = {
    "Process Queue": "process_queue",
    "Recover DLQ Jobs": "recover_dlq",
    "Health Check": "health_check",
    "Reconcile Library (All)": "reconcile_all",
    "Reconcile Library (Recent)": "reconcile_recent",
    "Reconcile Library (Last 7 Days)": "reconcile_7days",
    "Import Plex Play State": "import_play_state",
  };

  // Stash's base path is its <base href> (rewritten from X-Forwarded-Prefix behind a reverse
  // proxy under a subpath); Stash's own client resolves "graphql" against it, and so do we.
  function graphqlURL() {
    return new URL("graphql", document.baseURI).toString();
  }

  function gql(query, variables) {
    return fetch(graphqlURL(), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ query: query, variables: variables }),
    }).then(function (res) {
      return res.json().then(
        function (body) {
          if (body.errors && body.errors.length) {
            throw new Error(body.errors.map(function (e) { return e.message; }).join("; "));
          }
          return body.data;
        },
        function () {
          throw new Error("Stash answered HTTP " + res.status);
        }
      );
    });
  }

  // ------------------------------------------------------------------ formatting

  function when(iso) {
    if (!iso) {
      return h("span", { className: "plexsync-muted" }, "never");
    }
    var d = new Date(iso);
    return h("time", { dateTime: iso, title: iso }, isNaN(d) ? iso : d.toLocaleString());
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) {
      return "n/a";
    }
    var s = Number(seconds);
    if (s < 90) return Math.round(s) + " s";
    if (s < 5400) return Math.round(s / 60) + " min";
    if (s < 172800) return (s / 3600).toFixed(1) + " h";
    return (s / 86400).toFixed(1) + " d";
  }

  function percent(fraction) {
    return fraction === null || fraction === undefined ? "n/a" : (fraction * 100).toFixed(3) + "%";
  }

  function sumValues(obj) {
    return Object.keys(obj || {}).reduce(function (n, k) { return n + Number(obj[k] || 0); }, 0);
  }

  function sceneLink(id, titles) {
    var scene = titles[String(id)];
    var label = scene ? scene.title || (scene.files && scene.files[0] && scene.files[0].basename)
      || "Scene " + id : "Scene " + id;
    var to = "/scenes/" + id;
    if (Router.Link) {
      return h(Router.Link, { to: to, "data-ps": "scene-link" }, label);
    }
    return h("a", { href: to, "data-ps": "scene-link" }, label);
  }

  // ------------------------------------------------------------------ blocks

  function Card(props) {
    return h("section", { className: "plexsync-card" + (props.wide ? " plexsync-wide" : ""),
      "data-ps-block": props.id },
      h("h3", null, props.title), props.children);
  }

  function Figure(props) {
    return h("div", { className: "plexsync-figure" + (props.tone ? " plexsync-" + props.tone : ""),
      "data-ps": props.id },
      h("div", { className: "plexsync-figure-value" }, String(props.value)),
      h("div", { className: "plexsync-figure-label" }, props.label));
  }

  function Empty(props) {
    return h("p", { className: "plexsync-muted", "data-ps": "empty" }, props.children);
  }

  function QueueBlock(props) {
    var s = props.status;
    return h(Card, { id: "queue", title: "Queue" },
      h("div", { className: "plexsync-figures" },
        h(Figure, { id: "pending", label: "Pending", value: s.pending }),
        h(Figure, { id: "in_progress", label: "In progress", value: s.in_progress }),
        h(Figure, { id: "retrying", label: "Retrying", value: s.retrying,
          tone: s.retrying ? "warn" : "" }),
        h(Figure, { id: "dlq", label: "Dead-lettered", value: s.dlq, tone: s.dlq ? "bad" : "" }),
        h(Figure, { id: "synced", label: "Synced scenes", value: s.synced, tone: "good" }),
        h(Figure, { id: "out_of_scope", label: "Outside Plex libraries", value: s.out_of_scope })),
      h("p", { "data-ps": "drain" }, "Process Queue is ", h("b", null, s.drain || "idle"),
        s.next_retry_at ? h("span", null, "; next retry at ", when(s.next_retry_at)) : null, "."),
      h("div", { className: "plexsync-actions" },
        h("button", { className: "btn btn-primary", "data-ps": "run-process", disabled: props.busy,
          onClick: function () { props.run(TASKS.process, {}); } }, "Process Queue")));
  }

  function DlqBlock(props) {
    var s = props.status;
    var classes = Object.keys(s.dlq_by_error || {});
    var newest = props.newest || [];
    return h(Card, { id: "dlq", title: "Dead-letter queue", wide: true },
      classes.length === 0 ? h(Empty, null, "No dead-lettered jobs.") :
        h("table", { className: "table table-sm plexsync-table", "data-ps": "dlq-by-class" },
          h("thead", null, h("tr", null, h("th", null, "Error class"), h("th", null, "Jobs"),
            h("th", null, ""))),
          h("tbody", null, classes.map(function (cls) {
            return h("tr", { key: cls, "data-ps-class": cls },
              h("td", null, cls), h("td", { "data-ps": "count" }, s.dlq_by_error[cls]),
              h("td", null, h("button", { className: "btn btn-secondary btn-sm",
                "data-ps": "run-recover", disabled: props.busy,
                onClick: function () { props.run(TASKS.recover, { error_types: cls }); } },
              "Recover")));
          }))),
      newest.length === 0 ? null : h("div", null,
        h("h4", null, "Newest entries"),
        h("table", { className: "table table-sm plexsync-table", "data-ps": "dlq-newest" },
          h("thead", null, h("tr", null, ["Scene", "Error class", "Error", "Attempts",
            "Last failure", "Candidates"].map(function (c) { return h("th", { key: c }, c); }))),
          h("tbody", null, newest.map(function (d) {
            return h("tr", { key: d.scene_id, "data-ps-scene": d.scene_id },
              h("td", null, sceneLink(d.scene_id, props.titles)),
              h("td", { "data-ps": "class" }, d.error_class),
              h("td", { "data-ps": "message" }, d.message),
              h("td", null, d.attempts),
              h("td", null, when(d.last_failure_at)),
              h("td", { "data-ps": "candidates" }, (d.candidates || []).length === 0 ? "" :
                h("ul", { className: "plexsync-candidates" }, d.candidates.map(function (c) {
                  return h("li", { key: c }, c);
                }))));
          })))));
  }

  function OutageTimeline(props) {
    var epoch = function (v) { return typeof v === "number" ? v * 1000 : Date.parse(v); };
    // Oldest first, whatever order the status lists them in; the newest 30.
    var outages = props.outages.slice().sort(function (a, b) {
      return epoch(a.start) - epoch(b.start);
    }).slice(-30);
    if (outages.length === 0) {
      return h(Empty, null, "No Plex outage recorded.");
    }
    var start = epoch(outages[0].start);
    var end = Math.max(props.now, epoch(outages[outages.length - 1].end || props.now));
    var span = Math.max(end - start, 1);
    return h("div", null,
      h("div", { className: "plexsync-timeline", "data-ps": "outage-timeline" },
        outages.map(function (o, i) {
          var s = epoch(o.start), e = o.end ? epoch(o.end) : props.now;
          return h("span", { key: i, className: "plexsync-outage" + (o.end ? "" : " plexsync-ongoing"),
            title: duration(o.duration_s) + " from " + o.start,
            style: { left: ((s - start) / span * 100) + "%",
              width: Math.max((e - s) / span * 100, 0.6) + "%" } });
        })),
      h("table", { className: "table table-sm plexsync-table", "data-ps": "outage-list" },
        h("thead", null, h("tr", null, ["Start", "End", "Duration", "Jobs affected"]
          .map(function (c) { return h("th", { key: c }, c); }))),
        h("tbody", null, outages.slice().reverse().map(function (o, i) {
          return h("tr", { key: i },
            h("td", null, when(typeof o.start === "number" ? new Date(o.start * 1000).toISOString()
              : o.start)),
            h("td", null, o.end ? when(typeof o.end === "number" ?
              new Date(o.end * 1000).toISOString() : o.end) : "ongoing"),
            h("td", null, duration(o.duration_s)), h("td", null, o.jobs_affected));
        }))));
  }

  function PlexBlock(props) {
    var s = props.status;
    var o = s.outages || {};
    var circuit = s.circuit || "unknown";
    var ongoing = o.ongoing;
    return h(Card, { id: "plex", title: "Plex" },
      h("div", { className: "plexsync-figures" },
        h(Figure, { id: "circuit", label: "Circuit", value: circuit,
          tone: circuit === "closed" ? "good" : circuit === "open" ? "bad" : "warn" }),
        h(Figure, { id: "availability", label: "Availability", value: percent(o.availability) }),
        h(Figure, { id: "outage_count", label: "Outages", value: o.count === undefined ? "n/a" : o.count }),
        h(Figure, { id: "mttr", label: "MTTR", value: duration(o.mttr_s) }),
        h(Figure, { id: "mtbf", label: "MTBF", value: duration(o.mtbf_s) })),
      h("p", { "data-ps": "last-sync" }, "Last sync: ", when(s.last_sync_at)),
      ongoing ? h("p", { className: "plexsync-bad-text", "data-ps": "ongoing" },
        "Plex is down since ", when(ongoing.start), " (", duration(ongoing.duration_s), ", ",
        ongoing.jobs_affected, " job(s) waiting).") : null,
      h("h4", null, "Last 30 outages"),
      h(OutageTimeline, { outages: (props.history || []).concat(ongoing ? [{ start: ongoing.start,
        end: null, duration_s: ongoing.duration_s, jobs_affected: ongoing.jobs_affected }] : []),
      now: props.now }));
  }

  function ReconcileBlock(props) {
    var r = props.status.reconcile || {};
    var history = r.history || [];
    var gaps = r.gaps_by_type || {};
    var scope = useState("all");
    return h(Card, { id: "reconcile", title: "Reconciliation" },
      h("p", { "data-ps": "reconcile-last" }, "Last run: ", when(r.last_run_at)),
      Object.keys(gaps).length === 0 ? null : h("div", null,
        h("h4", null, "Gaps found by the last run"),
        h("div", { className: "plexsync-figures", "data-ps": "gaps" }, Object.keys(gaps).map(
          function (t) { return h(Figure, { key: t, id: "gap-" + t, label: t, value: gaps[t] }); }))),
      history.length === 0 ? h(Empty, null, "No reconciliation has run yet.") :
        h("table", { className: "table table-sm plexsync-table", "data-ps": "reconcile-history" },
          h("thead", null, h("tr", null, ["When", "Scope", "Trigger", "Scanned", "Gaps",
            "Queued", "Took"].map(function (c) { return h("th", { key: c }, c); }))),
          h("tbody", null, history.map(function (run, i) {
            var g = run.gaps || {};
            return h("tr", { key: i },
              h("td", null, when(run.at)), h("td", null, run.scope), h("td", null, run.trigger),
              h("td", null, run.scanned),
              h("td", { title: Object.keys(g).map(function (k) { return k + " " + g[k]; })
                .join(", ") }, sumValues(g)),
              h("td", null, run.enqueued),
              h("td", null, run.seconds === undefined ? "" : duration(run.seconds)));
          }))),
      h("div", { className: "plexsync-actions" },
        h("select", { className: "form-control input-control plexsync-select", "data-ps": "reconcile-scope",
          value: scope[0], onChange: function (e) { scope[1](e.target.value); } },
          h("option", { value: "all" }, "All scenes"),
          h("option", { value: "recent" }, "Last 24 hours"),
          h("option", { value: "7days" }, "Last 7 days")),
        h("button", { className: "btn btn-primary", "data-ps": "run-reconcile", disabled: props.busy,
          onClick: function () { props.run(TASKS.reconcile[scope[0]], {}); } }, "Reconcile")));
  }

  // ---- Plex → Stash play state (issue 26, docs/play-state.md): the last import and the next.
  function PlayImportBlock(props) {
    var p = props.status.play_import || {};
    return h(Card, { id: "play-import", title: "Plays from Plex" },
      h("p", { "data-ps": "play-import-last" }, "Last import: ", when(p.last_run_at)),
      p.last_run_at ? h("div", { className: "plexsync-figures", "data-ps": "play-import" },
        h(Figure, { id: "play-import-plays", label: "plays", value: p.plays }),
        h(Figure, { id: "play-import-resume", label: "resume points", value: p.resume_points }),
        h(Figure, { id: "play-import-ratings", label: "ratings", value: p.ratings })) :
        h(Empty, null, "No play-state import has run yet."),
      h("p", { "data-ps": "play-import-next" }, p.next_run_at ?
        h("span", null, "Next import: ", when(p.next_run_at)) :
        "Automatic import is off (Import play state from Plex)."),
      h("div", { className: "plexsync-actions" },
        h("button", { className: "btn btn-secondary", "data-ps": "run-play-import",
          disabled: props.busy, onClick: function () { props.run("Import Plex Play State", {}); } },
          "Import now")));
  }

  function TimerBlock(props) {
    var t = props.status.timer;
    return h(Card, { id: "timer", title: "Wake-up timer" },
      t ? h("p", { "data-ps": "timer" }, "Armed: asks Stash to run Process Queue at ",
        when(t.armed_until), " (process ", t.pid, ").")
        : h("p", { "data-ps": "timer" }, "Not armed: no retry is waiting for it."));
  }

  function HealthChecks(props) {
    var checks = (props.output && props.output.checks) || [];
    return h("ul", { className: "plexsync-checks", "data-ps": "health-checks" },
      checks.map(function (c) {
        return h("li", { key: c.name, className: c.ok ? "plexsync-ok" : "plexsync-problem",
          "data-ps-check": c.name },
          h("b", null, (c.ok ? "\u2714 " : "\u2718 ") + c.name),
          c.ok ? (c.info ? h("span", { className: "plexsync-muted" }, " " + c.info) : null)
            : h("div", null, h("div", { "data-ps": "problem" }, c.problem),
              h("div", { "data-ps": "fix" }, "Fix: " + c.fix)));
      }));
  }

  function Activity(props) {
    var job = props.job;
    var results = props.results || {};
    var health = results.health_check;
    return h(Card, { id: "activity", title: "Tasks" },
      h("div", { className: "plexsync-actions" },
        h("button", { className: "btn btn-primary", "data-ps": "run-health", disabled: props.busy,
          onClick: function () { props.run(TASKS.health, {}); } }, "Health Check")),
      job ? h("div", { className: "plexsync-job", "data-ps": "job" },
        h("span", null, job.task + ": "),
        h("b", { "data-ps": "job-status" }, job.status || "QUEUED"),
        job.progress !== null && job.progress !== undefined ?
          h("div", { className: "progress plexsync-progress" },
            h("div", { className: "progress-bar", "data-ps": "job-progress",
              style: { width: Math.round(job.progress * 100) + "%" } })) : null,
        job.error ? h("div", { className: "plexsync-bad-text" }, job.error) : null,
        job.result && job.result.error ? h("div", { className: "plexsync-bad-text",
          "data-ps": "job-error" }, job.result.error) : null) : null,
      health ? h("div", { "data-ps": "health" },
        h("h4", null, "Health Check ", when(health.at)),
        health.error ? h("p", { className: "plexsync-bad-text" }, health.error)
          : h(HealthChecks, { output: health.output })) : null);
  }

  // ------------------------------------------------------------------ the page

  function newRequestId() {
    return "ui-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 8);
  }

  function PlexSyncPage() {
    var dataState = useState(null);
    var errorState = useState(null);
    var titlesState = useState({});
    var jobState = useState(null);
    var data = dataState[0], error = errorState[0], titles = titlesState[0], job = jobState[0];
    var alive = useRef(true);

    function refresh() {
      return gql(STATUS_DOC, { plugin: PLUGIN_ID, args: { mode: "page_status" } }).then(
        function (d) {
          if (!alive.current) return null;
          var answer = d && d.runPluginOperation;
          if (!answer || typeof answer !== "object" || !answer.status) {
            throw new Error("PlexSync's page_status answer is not the expected JSON");
          }
          dataState[1](answer);
          errorState[1](null);
          return answer;
        }).catch(function (e) {
        if (alive.current) errorState[1](String(e.message || e));
        return null;
      });
    }

    useEffect(function () {
      alive.current = true;
      refresh();
      // Each answer starts one plugin process: poll only while the tab is visible.
      var timer = setInterval(function () { if (!document.hidden) refresh(); }, POLL_MS);
      return function () { alive.current = false; clearInterval(timer); };
    }, []);

    // Scene titles for the newest dead letters (one findScenes call when the set changes).
    var ids = data ? data.dlq_newest.map(function (d) { return String(d.scene_id); }) : [];
    var idsKey = ids.join(",");
    useEffect(function () {
      if (!ids.length) return;
      gql(SCENES_DOC, { ids: ids }).then(function (d) {
        var map = {};
        ((d && d.findScenes && d.findScenes.scenes) || []).forEach(function (s) { map[s.id] = s; });
        if (alive.current) titlesState[1](map);
      }).catch(function () { /* links then read "Scene <id>" */ });
    }, [idsKey]);

    // Follow the running job until Stash says it is done (or forgets it: findJob keeps only the
    // last few finished jobs), then pick up its result from page_status.
    useEffect(function () {
      if (!job || !job.id || job.finished) return;
      var timer = setInterval(function () {
        gql(FIND_JOB_DOC, { input: { id: job.id } }).then(function (d) {
          var j = d && d.findJob;
          var finished = !j || DONE[j.status];
          var next = Object.assign({}, job, j ? { status: j.status, progress: j.progress,
            error: j.error } : { status: "FINISHED" }, { finished: finished });
          if (!finished) {
            jobState[1](next);
            return;
          }
          refresh().then(function (answer) {
            var mode = TASK_MODES[job.task];
            var result = answer && answer.results && answer.results[mode];
            next.result = result && result.request === job.request ? result : null;
            if (alive.current) jobState[1](next);
          });
        }).catch(function (e) {
          if (alive.current) errorState[1](String(e.message || e));
        });
      }, JOB_POLL_MS);
      return function () { clearInterval(timer); };
    }, [job && job.id, job && job.finished]);

    function run(task, args) {
      var request = newRequestId();
      var sent = Object.assign({}, args, { ui_request: request });
      jobState[1]({ task: task, request: request, status: "QUEUED", progress: null });
      gql(RUN_TASK_DOC, { plugin: PLUGIN_ID, task: task, args: sent }).then(function (d) {
        if (alive.current) {
          jobState[1]({ id: d.runPluginTask, task: task, request: request, status: "READY",
            progress: null });
        }
      }).catch(function (e) {
        if (alive.current) {
          jobState[1]({ task: task, request: request, status: "FAILED", finished: true,
            error: String(e.message || e) });
        }
      });
    }

    var busy = !!(job && !job.finished);
    var status = data && data.status;
    return h("div", { className: "container plexsync-page", "data-ps": "page" },
      h("h2", null, "PlexSync"),
      error ? h("div", { className: "alert alert-danger", "data-ps": "error" },
        "Could not read PlexSync's status: " + error) : null,
      !status ? (error ? null : h("p", { "data-ps": "loading" }, "Loading\u2026")) :
        h("div", { className: "plexsync-grid" },
          h(QueueBlock, { status: status, run: run, busy: busy }),
          h(PlexBlock, { status: status, history: data.outage_history ||
            (status.outages && status.outages.history) || [], now: Date.now() }),
          h(ReconcileBlock, { status: status, run: run, busy: busy }),
          h(DlqBlock, { status: status, newest: data.dlq_newest, titles: titles, run: run,
            busy: busy }),
          h(TimerBlock, { status: status }),
          h(PlayImportBlock, { status: status, run: run, busy: busy }),
          h(Activity, { job: job, results: data.results, run: run, busy: busy })),
      data ? h("p", { className: "plexsync-muted plexsync-footer" }, "As of ",
        when(data.generated_at)) : null);
  }

  api.register.route(ROUTE, PlexSyncPage);

  // A "PlexSync" entry in Stash's main navigation bar, built as Stash builds its own
  // (components/MainNavbar.tsx): a Nav.Link with an eventKey inside the collapsible menu, which is
  // what closes the menu on narrow screens (< 1200 px) when the entry is followed, holding a
  // button-styled link with the entry's icon above its label (beside it from 1200 px).
  var Bootstrap = libs.Bootstrap || {};
  var Nav = Bootstrap.Nav;
  var Icon = api.components && api.components.Icon;
  var solid = libs.FontAwesomeSolid || {};
  var ICON = solid.faArrowsRotate || solid.faSync;

  function NavEntry() {
    return h(Nav.Link, { eventKey: ROUTE, as: "div", className: "col-4 col-sm-3 col-md-2 col-lg-auto",
      "data-ps": "nav-entry" },
    h(Router.NavLink, { to: ROUTE, exact: true, activeClassName: "active", "data-ps": "nav-link",
      className: "btn btn-primary minimal p-4 p-xl-2 d-flex d-xl-inline-block flex-column " +
        "justify-content-between align-items-center" },
    Icon && ICON ? h(Icon, { icon: ICON, className: "nav-menu-icon d-block d-xl-inline mb-2 mb-xl-0" })
      : null,
    h("span", null, "PlexSync")));
  }

  if (api.patch && Router.NavLink && Nav && Nav.Link) {
    api.patch.before("MainNavBar.MenuItems", function (props) {
      return [Object.assign({}, props, {
        children: h(React.Fragment, null, props.children, h(NavEntry, { key: "plexsync" })),
      })];
    });
  }
})();
