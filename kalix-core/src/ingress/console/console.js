// The developer console: a page over the admin API of the listener that serves it. Text from the
// service (ids, states, names) is only ever set as text, never as HTML.
"use strict";

const ADMIN_HEADER = { "X-Kalix-Admin": "console" };

function element(tag, properties = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(properties)) {
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

async function getJson(path) {
  const response = await fetch(path);
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new Error((body && body.detail) || `${path}: ${response.status}`);
  }
  return body;
}

async function post(path, body) {
  const options = { method: "POST", headers: { ...ADMIN_HEADER } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const answer = await response.json().catch(() => null);
  if (!response.ok) {
    throw new Error((answer && answer.detail) || `${path}: ${response.status}`);
  }
  return answer;
}

// A time in ms since the epoch as ISO text, or the number itself when no Date can hold it.
function dateText(ms) {
  const date = new Date(ms);
  return Number.isFinite(date.getTime()) ? date.toISOString() : String(ms);
}

function pretty(value) {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function encodeSegment(text) {
  return encodeURIComponent(text);
}

// ---- tabs ----
const loaders = {};
for (const button of document.querySelectorAll("#tabs button")) {
  button.addEventListener("click", () => showTab(button.dataset.tab));
}

function showTab(name) {
  for (const button of document.querySelectorAll("#tabs button")) {
    button.classList.toggle("active", button.dataset.tab === name);
  }
  for (const section of document.querySelectorAll("section.tab")) {
    section.hidden = section.id !== name;
  }
  if (loaders[name]) loaders[name]();
}

// ---- components and their routes ----
let components = [];

function routeForm(route) {
  const params = [...route.path.matchAll(/<([^>]+)>/g)].map((match) => match[1]);
  const inputs = {};
  const form = element("form");
  for (const name of params) {
    inputs[name] = element("input", { name, required: "required" });
    form.append(element("label", { text: name }), inputs[name]);
  }
  const query = element("input", { name: "query", placeholder: "a=1&b=2" });
  form.append(element("label", { text: "query" }), query);
  let body = null;
  if (!["GET", "DELETE"].includes(route.method)) {
    body = element("textarea", { name: "body", placeholder: "JSON body" });
    form.append(element("label", { text: "body" }), body);
  }
  const result = element("pre", { class: "json" });
  form.append(element("span"), element("button", { type: "submit", text: "Call" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let path = route.path;
    for (const name of params) {
      path = path.replace(`<${name}>`, encodeSegment(inputs[name].value));
    }
    if (query.value.trim()) path += `?${query.value.trim()}`;
    const call = { method: route.method, path };
    try {
      if (body && body.value.trim()) call.body = JSON.parse(body.value);
      const answer = await post("/admin/call", call);
      result.className = `json ${answer.status < 400 ? "status-ok" : "status-error"}`;
      result.textContent = `${answer.status}\n${pretty(answer.body)}`;
    } catch (error) {
      result.className = "json status-error";
      result.textContent = error.message;
    }
  });
  return element("div", {}, [form, result]);
}

function renderComponents() {
  const list = document.getElementById("component-list");
  list.replaceChildren();
  for (const component of components) {
    const card = element("div", { class: "component" }, [
      element("h2", {}, [
        document.createTextNode(component.id),
        element("span", { class: "kind", text: component.kind + (component.type_id ? ` · ${component.type_id}` : "") }),
      ]),
    ]);
    if (component.description) card.append(element("p", { class: "hint", text: component.description }));
    for (const route of component.routes) {
      const details = element("details", { class: "route", "data-route": `${route.method} ${route.path}` }, [
        element("summary", {}, [
          element("span", { class: "method", text: route.method }),
          document.createTextNode(` ${route.path}  (${route.handler})`),
        ]),
      ]);
      details.append(routeForm(route));
      card.append(details);
    }
    for (const subscription of component.subscriptions) {
      const source = subscription.topic ? `topic ${subscription.topic}`
        : subscription.stream ? `stream ${subscription.stream} of ${subscription.service}`
        : `changes of ${subscription.entity}`;
      card.append(element("p", { class: "hint", text: `${subscription.handler} ← ${source}` }));
    }
    for (const topic of component.publishes_to_topics) {
      card.append(element("p", { class: "hint", text: `${topic.handler} → topic ${topic.topic}` }));
    }
    list.append(card);
  }
}

// ---- entities ----
function keyedOf(kinds) {
  return components.filter((component) => component.type_id && kinds.includes(component.kind));
}

function fillTypes(select, kinds) {
  const current = select.value;
  select.replaceChildren();
  for (const component of keyedOf(kinds)) {
    select.append(element("option", { value: component.type_id, text: `${component.type_id} (${component.id})` }));
  }
  if (current) select.value = current;
}

async function listIds(type, list, open) {
  list.replaceChildren();
  if (!type) return;
  try {
    const answer = await getJson(`/admin/entities/${encodeSegment(type)}`);
    for (const id of answer.ids) {
      const button = element("button", { text: id, "data-id": id });
      button.addEventListener("click", () => {
        for (const other of list.querySelectorAll("button")) other.classList.remove("selected");
        button.classList.add("selected");
        open(id);
      });
      list.append(element("li", {}, [button]));
    }
  } catch (error) {
    list.append(element("li", { class: "message error", text: error.message }));
  }
}

async function openEntity(id) {
  const type = document.getElementById("entity-type").value;
  const detail = document.getElementById("entity-detail");
  const table = document.getElementById("entity-events");
  document.getElementById("entity-heading").textContent = `${type} ${id}`;
  table.hidden = true;
  try {
    const entity = await getJson(`/admin/entities/${encodeSegment(type)}/${encodeSegment(id)}`);
    detail.textContent = pretty(entity.kind === "event_sourced_entity"
      ? { seq: entity.seq, deleted: entity.deleted, state: entity.state }
      : entity.kind === "replicated_entity"
        ? { replicas: entity.replicas }
        : { version: entity.version, deleted: entity.deleted, state: entity.state });
    if (entity.kind === "event_sourced_entity") {
      const page = await getJson(`/admin/entities/${encodeSegment(type)}/${encodeSegment(id)}/events?limit=100`);
      const body = table.querySelector("tbody");
      body.replaceChildren();
      for (const event of page.events) {
        body.append(element("tr", {}, [
          element("td", { text: String(event.seq) }),
          element("td", { text: event.type }),
          element("td", {}, [element("pre", { text: pretty(event.event) })]),
        ]));
      }
      table.hidden = false;
    }
  } catch (error) {
    detail.textContent = error.message;
  }
}

loaders.entities = () => {
  const select = document.getElementById("entity-type");
  fillTypes(select, ["value_entity", "event_sourced_entity", "replicated_entity", "workflow"]);
  listIds(select.value, document.getElementById("entity-ids"), openEntity);
};
document.getElementById("entity-type").addEventListener("change", loaders.entities);
document.getElementById("entity-refresh").addEventListener("click", loaders.entities);

// ---- timers ----
loaders.timers = async () => {
  const body = document.querySelector("#timer-table tbody");
  const params = new URLSearchParams({ limit: "200" });
  const name = document.getElementById("timer-name").value.trim();
  if (name) params.set("name", name);
  if (document.getElementById("timer-failing").checked) params.set("failing", "true");
  body.replaceChildren();
  try {
    const answer = await getJson(`/admin/timers?${params}`);
    for (const timer of answer.timers) {
      body.append(element("tr", {}, [
        element("td", { text: timer.name }),
        element("td", { text: dateText(timer.due_ms) }),
        element("td", { text: `${timer.target.component}.${timer.target.method}` }),
        element("td", { text: String(timer.attempts) }),
      ]));
    }
  } catch (error) {
    body.append(element("tr", {}, [element("td", { colspan: "4", class: "message error", text: error.message })]));
  }
};
document.getElementById("timer-refresh").addEventListener("click", loaders.timers);

// ---- workflows ----
let shownWorkflow = null;

function workflowButtons(record) {
  const ended = !record || record.ended;
  document.getElementById("workflow-suspend").disabled = ended || record.suspended;
  document.getElementById("workflow-resume").disabled = ended || !record.suspended;
  document.getElementById("workflow-terminate").disabled = ended;
}

function describeWorkflow(record) {
  const position = record.position || {};
  if (record.ended) return "ended";
  const where = position.status === "running" ? `at step ${position.step} (attempt ${position.attempt + 1})` : position.status;
  return record.suspended ? `suspended, ${where}` : where;
}

async function openWorkflow(id) {
  const type = document.getElementById("workflow-type").value;
  document.getElementById("workflow-id").value = id;
  const message = document.getElementById("workflow-message");
  message.textContent = "";
  try {
    const record = await getJson(`/admin/workflows/${encodeSegment(type)}/${encodeSegment(id)}`);
    shownWorkflow = { type, id };
    document.getElementById("workflow-summary").textContent = `${type} ${id}: ${describeWorkflow(record)}`;
    document.getElementById("workflow-detail").textContent = pretty(record);
    workflowButtons(record);
  } catch (error) {
    shownWorkflow = null;
    workflowButtons(null);
    document.getElementById("workflow-summary").textContent = "";
    document.getElementById("workflow-detail").textContent = "";
    message.className = "message error";
    message.textContent = error.message;
  }
}

async function act(action) {
  if (!shownWorkflow) return;
  const { type, id } = shownWorkflow;
  if (action === "terminate" && !window.confirm(`Terminate ${type} ${id}? It ends without compensation.`)) return;
  const message = document.getElementById("workflow-message");
  try {
    const record = await post(`/admin/workflows/${encodeSegment(type)}/${encodeSegment(id)}/${action}`);
    message.className = "message";
    message.textContent = record.changed ? `${action}: done` : `${action}: nothing to change`;
    document.getElementById("workflow-summary").textContent = `${type} ${id}: ${describeWorkflow(record)}`;
    document.getElementById("workflow-detail").textContent = pretty(record);
    workflowButtons(record);
  } catch (error) {
    message.className = "message error";
    message.textContent = error.message;
  }
}

for (const action of ["suspend", "resume", "terminate"]) {
  document.getElementById(`workflow-${action}`).addEventListener("click", () => act(action));
}

loaders.workflows = () => {
  const select = document.getElementById("workflow-type");
  fillTypes(select, ["workflow"]);
  listIds(select.value, document.getElementById("workflow-ids"), openWorkflow);
};
document.getElementById("workflow-type").addEventListener("change", loaders.workflows);
document.getElementById("workflow-load").addEventListener("click", () => {
  const id = document.getElementById("workflow-id").value.trim();
  if (id) openWorkflow(id);
});

// ---- consumers and views ----
function behind(seen) {
  if (!seen) return "–";
  return `${seen.lag_events} read, ${Math.round(seen.lag_seconds * 10) / 10} s`;
}

function position(consumer) {
  return consumer.position ? String(consumer.position.position) : "none saved";
}

loaders.consumers = async () => {
  const consumerBody = document.querySelector("#consumer-table tbody");
  const viewBody = document.querySelector("#view-table tbody");
  consumerBody.replaceChildren();
  viewBody.replaceChildren();
  try {
    const answer = await getJson("/admin/consumers?limit=1000");
    for (const consumer of answer.consumers) {
      const seen = consumer.this_process;
      const error = seen && seen.last_error
        ? `${dateText(seen.last_error.at_ms)}: ${seen.last_error.error}` : "";
      consumerBody.append(element("tr", { "data-consumer": consumer.name }, [
        element("td", { text: consumer.name }),
        element("td", { text: consumer.kind }),
        element("td", { text: position(consumer) }),
        element("td", { text: seen ? (seen.runs_it ? "yes" : "no") : "–" }),
        element("td", { text: behind(seen) }),
        element("td", { class: error ? "message error" : "", text: error }),
      ]));
    }
    const views = await getJson("/admin/views");
    for (const view of views.views) {
      const source = view.source.topic ? `topic ${view.source.topic}` : `${view.source.kind} ${view.source.type_id}`;
      const rebuild = element("button", { text: "Rebuild", "data-table": view.table });
      if (view.source.topic) rebuild.disabled = true;
      rebuild.addEventListener("click", async () => {
        if (!window.confirm(`Empty ${view.table} and build it again from its source?`)) return;
        try {
          await post(`/admin/views/${encodeSegment(view.table)}/rebuild`);
          loaders.consumers();
        } catch (error) {
          window.alert(error.message);
        }
      });
      viewBody.append(element("tr", {}, [
        element("td", { text: view.table }),
        element("td", { text: source }),
        element("td", { text: position(view.updater) }),
        element("td", { text: behind(view.updater.this_process) }),
        element("td", {}, [rebuild]),
      ]));
    }
  } catch (error) {
    consumerBody.append(element("tr", {}, [element("td", { colspan: "6", class: "message error", text: error.message })]));
  }
};
document.getElementById("consumer-refresh").addEventListener("click", loaders.consumers);

// ---- metrics at a glance ----
const FIGURES = [
  ["Requests served", "http_server_request_duration_seconds_count"],
  ["Requests in flight", "http_server_active_requests"],
  ["Open connections", "http_server_open_connections"],
  ["Handler runs", "kalix_command_duration_seconds_count"],
  ["Commits", "kalix_store_commit_duration_seconds_count"],
  ["Entities in memory", "kalix_entities_active"],
  ["Workflows running", "kalix_workflows_running"],
  ["Timers pending", "kalix_timers_pending"],
  ["Dead letters", "kalix_dead_letters_total"],
  ["Resident memory (MB)", "process_resident_memory_bytes", 1 / (1024 * 1024)],
];

async function refreshMetrics() {
  const body = document.querySelector("#metric-table tbody");
  try {
    const text = await (await fetch("/metrics")).text();
    const sums = {};
    for (const line of text.split("\n")) {
      if (!line || line.startsWith("#")) continue;
      const name = line.split(/[{ ]/, 1)[0];
      const value = Number(line.slice(line.lastIndexOf(" ") + 1));
      if (!Number.isNaN(value)) sums[name] = (sums[name] || 0) + value;
    }
    body.replaceChildren();
    for (const [label, name, scale] of FIGURES) {
      const value = sums[name];
      const shown = value === undefined ? "–" : String(Math.round(value * (scale || 1) * 100) / 100);
      body.append(element("tr", {}, [element("th", { text: label }), element("td", { text: shown, "data-metric": name })]));
    }
  } catch (error) {
    body.replaceChildren(element("tr", {}, [element("td", { class: "message error", text: error.message })]));
  }
}

let metricTimer = null;
loaders.metrics = () => {
  refreshMetrics();
  if (!metricTimer) {
    metricTimer = setInterval(() => {
      if (!document.getElementById("metrics").hidden) refreshMetrics();
    }, 5000);
  }
};

// ---- start ----
(async () => {
  try {
    const api = await getJson("/openapi.json");
    document.getElementById("service-title").textContent = api.info.title;
    document.getElementById("service-version").textContent = api.info.version;
    document.title = `${api.info.title} · Kalix console`;
  } catch (_) {
    // The title is a nicety; the rest works without it.
  }
  const answer = await getJson("/admin/components");
  components = answer.components;
  renderComponents();
  document.body.dataset.ready = "true";
})();
