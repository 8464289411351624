// Test-only stand-in for Stash's window.PluginApi (ui/v2.5/src/pluginApi.tsx), just what
// ui/plexsync.js uses: React/ReactDOM (the npm UMD builds served beside this file), a minimal
// router (Link/NavLink on history.pushState), register.route and patch.before, and the
// MainNavBar.MenuItems patch point rendered by the harness's App. Loaded before the plugin's
// JavaScript, as Stash's PluginsLoader does.
(function () {
  "use strict";
  var React = window.React;
  var h = React.createElement;
  var routes = [];
  var patches = {};

  function navigate(to) {
    window.history.pushState({}, "", to);
    window.dispatchEvent(new Event("popstate"));
  }

  function Link(props) {
    var rest = Object.assign({}, props);
    delete rest.to;
    return h("a", Object.assign(rest, {
      href: props.to,
      onClick: function (e) { e.preventDefault(); navigate(props.to); },
    }), props.children);
  }

  function NavLink(props) {
    var active = window.location.pathname.indexOf(props.to) === 0;
    return h(Link, Object.assign({}, props, {
      className: (props.className || "") + (active ? " active" : ""),
    }));
  }

  function applyBefore(name, props) {
    return (patches[name] || []).reduce(function (p, fn) { return fn(p)[0]; }, props);
  }

  function MenuItems(props) {
    var patched = applyBefore("MainNavBar.MenuItems", props);
    return h("nav", { className: "harness-nav" }, patched.children);
  }

  function App() {
    var state = React.useState(window.location.pathname);
    React.useEffect(function () {
      var onPop = function () { state[1](window.location.pathname); };
      window.addEventListener("popstate", onPop);
      return function () { window.removeEventListener("popstate", onPop); };
    }, []);
    var path = state[0];
    var matched = routes.filter(function (r) { return path.indexOf(r.path) === 0; });
    return h("div", null,
      h(MenuItems, null, h(Link, { to: "/", className: "btn minimal" }, "Scenes")),
      matched.length ? matched.map(function (r) { return h(r.component, { key: r.path }); })
        : h("p", { id: "harness-home" }, "Stash home (harness)"));
  }

  window.PluginApi = {
    React: React,
    ReactDOM: window.ReactDOM,
    libraries: { ReactRouterDOM: { Link: Link, NavLink: NavLink } },
    register: {
      route: function (path, component) { routes.push({ path: path, component: component }); },
    },
    patch: {
      before: function (name, fn) { (patches[name] = patches[name] || []).push(fn); },
    },
  };
  window.HarnessApp = App;
})();
