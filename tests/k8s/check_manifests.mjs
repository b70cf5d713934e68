// Renders each kustomize overlay of k8s/ and checks what `kubectl apply -k` would send:
//  1. every object against the Kubernetes API's JSON schemas (kubernetes-models: ajv validators
//     generated from the Kubernetes OpenAPI document, from the npm registry);
//  2. consistency with the binaries: every environment variable a container gets is one its binary
//     reads (the LIVECALL_*/TWILIO_* names among the binary's string constants, so the list cannot
//     drift from the code), every one a cluster needs is set, listen ports match the container
//     ports, probes use the binaries' ports and health paths, dial targets name headless Services
//     (that the binaries really answer those probes and serve /metrics there is shown by
//     manifest_environment_test.cc, which runs them);
//  3. operations: non-root and locked-down security contexts, resources, probes, disruption
//     budgets, autoscalers, network policies, no Secret values, Redis persistence.
// Writes the rendered containers' environments, ports and probes as JSON for the C++ test that
// starts each binary with them (manifest_environment_test.cc).
//
//   node check_manifests.mjs --repo DIR --build DIR --kubectl PATH --out FILE
//
// Prints one line per check and "N passed, N failed"; exits 1 when any failed.

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
let parseAllDocuments;
try {
  ({ parseAllDocuments } = require("yaml"));
  require("kubernetes-models/v1/Namespace");
} catch (error) {
  console.error(`tests/k8s's npm packages are missing (${error.message}); run tools/dev deps`);
  process.exit(2);
}

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => {
    if (arg.startsWith("--")) pairs.push([arg.slice(2), all[i + 1]]);
    return pairs;
  }, []),
);
for (const name of ["repo", "build", "kubectl", "out"]) {
  if (!args[name]) {
    console.error(`usage: node check_manifests.mjs --repo DIR --build DIR --kubectl PATH --out FILE`);
    process.exit(2);
  }
}

const OVERLAYS = ["dev", "prod"];
// The binaries, by Deployment (and container) name.
const SERVICES = ["gateway", "call-control", "ai-session", "context"];
const GRPC_SERVICES = ["call-control", "ai-session", "context"];
// Which gRPC services each binary dials, by the variable holding the target.
const DIALS = {
  gateway: ["LIVECALL_CALL_CONTROL_ADDR", "LIVECALL_AI_SESSION_ADDR", "LIVECALL_CONTEXT_ADDR"],
  "call-control": ["LIVECALL_AI_SESSION_ADDR"],
  "ai-session": ["LIVECALL_CONTEXT_ADDR"],
  context: [],
};
const TARGET_VARIABLE = {
  "call-control": "LIVECALL_CALL_CONTROL_ADDR",
  "ai-session": "LIVECALL_AI_SESSION_ADDR",
  context: "LIVECALL_CONTEXT_ADDR",
};
const METRICS_VARIABLE = {
  "call-control": "LIVECALL_CALL_CONTROL_METRICS_ADDR",
  "ai-session": "LIVECALL_AI_SESSION_METRICS_ADDR",
  context: "LIVECALL_CONTEXT_METRICS_ADDR",
};
const DRAIN_SECONDS = 10; // ServeGrpcUntilSignal's and the gateway's drain.
const IMAGE_DATA_DIR = "/usr/share/livecall/data/"; // Where the Dockerfile puts data/.

let passed = 0;
let failed = 0;
function check(name, problems) {
  const list = (Array.isArray(problems) ? problems : [problems]).filter(Boolean);
  if (list.length === 0) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name}`);
    for (const problem of list) console.log(`    ${problem}`);
  }
}

// ---------------------------------------------------------------------------------------------
// What the binaries read and serve, from the binaries themselves.

// The LIVECALL_*/TWILIO_* names among an ELF file's C string constants: each ends in a NUL and
// follows something that is not part of a name (a NUL, or other data). Names must be passed as
// literals (not built at run time, not copied into local arrays) for this to see them, which
// common/config.h's EnvReader calls do.
function variableNames(file) {
  const text = readFileSync(file).toString("latin1");
  return new Set([...text.matchAll(/(?<![A-Za-z0-9_])(?:LIVECALL|TWILIO)_[A-Z0-9_]+(?=\0)/g)].map((m) => m[0]));
}

function binaryPath(service) {
  return path.join(args.build, "services", service, `livecall-${service}`);
}

const binaries = {};
for (const service of SERVICES) {
  const file = binaryPath(service);
  if (!existsSync(file)) {
    check(`binary of ${service} exists`, `${file} is missing; build first`);
    continue;
  }
  binaries[service] = { variables: variableNames(file) };
}
check("the binaries read LIVECALL_* variables (the scan of their constants works)", [
  ...Object.entries(binaries)
    .filter(([, b]) => !b.variables.has("LIVECALL_REDIS_URL") && !b.variables.has("LIVECALL_KB_FILE"))
    .map(([service]) => `${service}: no LIVECALL_REDIS_URL or LIVECALL_KB_FILE among its strings`),
  ...GRPC_SERVICES.filter((s) => binaries[s] && !binaries[s].variables.has("LIVECALL_GRPC_LISTEN_ADDR")).map(
    (s) => `${s}: LIVECALL_GRPC_LISTEN_ADDR not found`,
  ),
]);

// ---------------------------------------------------------------------------------------------
// Rendering and schemas.

function render(overlay) {
  const dir = path.join(args.repo, "k8s", "overlays", overlay);
  const text = execFileSync(args.kubectl, ["kustomize", dir], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const objects = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${overlay}: ${doc.errors[0].message}`);
    const object = doc.toJS();
    if (object) objects.push(object);
  }
  return objects;
}

// kubernetes-models lays its classes out as <group>/<version>/<Kind> ("v1" for the core group).
function modelFor(object) {
  const module = `kubernetes-models/${object.apiVersion}/${object.kind}`;
  try {
    return require(module)[object.kind];
  } catch {
    return null;
  }
}

function validateSchema(object) {
  const Model = modelFor(object);
  if (!Model) return `${object.apiVersion} ${object.kind}: no schema known for this kind`;
  try {
    new Model(object).validate();
    return null;
  } catch (error) {
    return `${object.kind}/${object.metadata?.name}: ${error.message}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers over the rendered objects.

function matchesSelector(selector, labels) {
  if (!selector) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    if (operator === "In" && !(has && values.includes(labels[key]))) return false;
    if (operator === "NotIn" && has && values.includes(labels[key])) return false;
    if (operator === "Exists" && !has) return false;
    if (operator === "DoesNotExist" && has) return false;
  }
  return true;
}

function portOf(address) {
  const match = /:(\d+)$/.exec(address ?? "");
  return match ? Number(match[1]) : null;
}

function hostOf(address) {
  return (address ?? "").replace(/^dns:\/\/\//, "").replace(/:\d+$/, "");
}

function containerPort(container, port) {
  if (typeof port === "number") return container.ports?.find((p) => p.containerPort === port);
  return container.ports?.find((p) => p.name === port);
}

function sleepSeconds(container) {
  const command = container.lifecycle?.preStop?.exec?.command ?? [];
  return command.length === 2 && command[0].endsWith("sleep") ? Number(command[1]) : 0;
}

// The container's environment as the kubelet would build it: envFrom ConfigMaps first, then env.
// Values from optional Secret keys are left out (the Secret is never committed).
function environment(container, configMaps, problems) {
  const env = {};
  const secretRefs = [];
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) {
      const map = configMaps.get(source.configMapRef.name);
      if (!map) problems.push(`envFrom names a missing ConfigMap ${source.configMapRef.name}`);
      Object.assign(env, map?.data ?? {});
    } else {
      problems.push(`envFrom other than a ConfigMap: ${JSON.stringify(source)}`);
    }
  }
  for (const variable of container.env ?? []) {
    if ("value" in variable) {
      env[variable.name] = variable.value;
    } else if (variable.valueFrom?.secretKeyRef) {
      if (!variable.valueFrom.secretKeyRef.optional) {
        problems.push(`${variable.name}: a Secret reference must be optional (sandbox without it)`);
      }
      secretRefs.push(variable.name);
    } else if (variable.valueFrom?.configMapKeyRef) {
      const ref = variable.valueFrom.configMapKeyRef;
      env[variable.name] = configMaps.get(ref.name)?.data?.[ref.key];
    } else {
      problems.push(`${variable.name}: unsupported valueFrom`);
    }
  }
  return { env, secretRefs };
}

// ---------------------------------------------------------------------------------------------
// The checks of one rendered overlay.

function checkOverlay(overlay, objects) {
  const label = (text) => `${overlay}: ${text}`;
  const byKind = (kind) => objects.filter((o) => o.kind === kind);
  const named = (kind, name) => byKind(kind).find((o) => o.metadata.name === name);
  const configMaps = new Map(byKind("ConfigMap").map((m) => [m.metadata.name, m]));
  const workloads = [...byKind("Deployment"), ...byKind("StatefulSet")];
  const services = byKind("Service");
  const namespace = byKind("Namespace")[0]?.metadata.name;

  check(label("every object is valid against the Kubernetes API schemas"), objects.map(validateSchema));
  check(
    label("every namespaced object is in the livecall namespace"),
    objects
      .filter((o) => o.kind !== "Namespace" && o.metadata.namespace !== namespace)
      .map((o) => `${o.kind}/${o.metadata.name} is in ${o.metadata.namespace}`),
  );
  check(
    label("no Secret (values are never committed; pods reference livecall-secrets)"),
    byKind("Secret").map((s) => `Secret/${s.metadata.name}`),
  );
  check(
    label("a Deployment and a Service for each service"),
    SERVICES.flatMap((s) => [
      named("Deployment", s) ? null : `no Deployment ${s}`,
      named("Service", s) ? null : `no Service ${s}`,
    ]),
  );

  // Security and resources, for every pod (Redis included).
  check(
    label("every container runs as non-root, unprivileged, read-only, without capabilities"),
    workloads.flatMap((w) => {
      const pod = w.spec.template.spec;
      const problems = [];
      const where = `${w.kind}/${w.metadata.name}`;
      if (pod.securityContext?.seccompProfile?.type !== "RuntimeDefault") {
        problems.push(`${where}: seccompProfile is not RuntimeDefault`);
      }
      if (pod.automountServiceAccountToken !== false) {
        problems.push(`${where}: mounts a service account token it does not use`);
      }
      if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problems.push(`${where}: uses host namespaces`);
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        const sc = c.securityContext ?? {};
        const runAsNonRoot = sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
        const runAsUser = sc.runAsUser ?? pod.securityContext?.runAsUser;
        if (runAsNonRoot !== true) problems.push(`${where}/${c.name}: runAsNonRoot is not true`);
        if (!(runAsUser > 0)) problems.push(`${where}/${c.name}: no non-zero runAsUser`);
        if (sc.allowPrivilegeEscalation !== false) {
          problems.push(`${where}/${c.name}: allowPrivilegeEscalation is not false`);
        }
        if (sc.readOnlyRootFilesystem !== true) {
          problems.push(`${where}/${c.name}: readOnlyRootFilesystem is not true`);
        }
        if (sc.privileged) problems.push(`${where}/${c.name}: privileged`);
        if (!(sc.capabilities?.drop ?? []).includes("ALL")) {
          problems.push(`${where}/${c.name}: capabilities do not drop ALL`);
        }
        if ((sc.capabilities?.add ?? []).length > 0) problems.push(`${where}/${c.name}: adds capabilities`);
        for (const kind of ["requests", "limits"]) {
          for (const resource of ["cpu", "memory"]) {
            if (!c.resources?.[kind]?.[resource]) {
              problems.push(`${where}/${c.name}: no ${kind}.${resource}`);
            }
          }
        }
        if (!c.livenessProbe || !c.readinessProbe) problems.push(`${where}/${c.name}: probes missing`);
      }
      return problems;
    }),
  );
  check(
    label("topology spread: one constraint per topology key, selecting the pod itself"),
    workloads.flatMap((w) => {
      const pod = w.spec.template.spec;
      const keys = (pod.topologySpreadConstraints ?? []).map((t) => t.topologyKey);
      const problems = [];
      if (w.kind === "Deployment" && !keys.includes("kubernetes.io/hostname")) {
        problems.push(`${w.metadata.name}: no spread over nodes`);
      }
      if (new Set(keys).size !== keys.length) problems.push(`${w.metadata.name}: repeated topology keys ${keys}`);
      for (const t of pod.topologySpreadConstraints ?? []) {
        if (!matchesSelector(t.labelSelector, w.spec.template.metadata.labels)) {
          problems.push(`${w.metadata.name}: a spread constraint does not select its own pods`);
        }
      }
      return problems;
    }),
  );

  // The services' own containers against their binaries.
  const runtime = [];
  for (const service of SERVICES) {
    const deployment = named("Deployment", service);
    const binary = binaries[service];
    if (!deployment || !binary) continue;
    const pod = deployment.spec.template.spec;
    const container = pod.containers.find((c) => c.name === service);
    if (!container) {
      check(label(`${service}: a container named ${service}`), "missing");
      continue;
    }
    const problems = [];
    const { env, secretRefs } = environment(container, configMaps, problems);
    check(label(`${service}: environment sources resolve`), problems);

    check(
      label(`${service}: every variable set is one livecall-${service} reads`),
      [...Object.keys(env), ...secretRefs]
        .filter((name) => !binary.variables.has(name))
        .map((name) => `${name} is not read by livecall-${service}`),
    );

    // What a cluster needs set: the defaults are loopback addresses and source-tree paths.
    const isGrpc = GRPC_SERVICES.includes(service);
    const required = [...DIALS[service]];
    if (isGrpc) required.push("LIVECALL_GRPC_LISTEN_ADDR", METRICS_VARIABLE[service]);
    else required.push("LIVECALL_HTTP_ADDR", "LIVECALL_ADMIN_ADDR");
    for (const name of binary.variables) {
      // LIVECALL_JWT_PUBLIC_KEY_FILE is optional: only for tokens signed by another login.
      if (name === "LIVECALL_REDIS_URL" ||
          (/^LIVECALL_[A-Z_]+_FILE$/.test(name) && name !== "LIVECALL_JWT_PUBLIC_KEY_FILE")) {
        required.push(name);
      }
    }
    check(
      label(`${service}: every variable a cluster needs is set`),
      required.filter((name) => !binary.variables.has(name) || env[name] === undefined).map((name) =>
        binary.variables.has(name) ? `${name} is not set` : `${name} is not read by the binary`,
      ),
    );

    // Listen addresses and ports.
    const listenChecks = [];
    const listen = isGrpc
      ? [
          ["LIVECALL_GRPC_LISTEN_ADDR", "grpc"],
          [METRICS_VARIABLE[service], "metrics"],
        ]
      : [
          ["LIVECALL_HTTP_ADDR", "http"],
          ["LIVECALL_ADMIN_ADDR", "admin"],
        ];
    for (const [variable, portName] of listen) {
      const port = containerPort(container, portName);
      if (!port) listenChecks.push(`no container port named ${portName}`);
      else if (portOf(env[variable]) !== port.containerPort) {
        listenChecks.push(`${variable}=${env[variable]} but port ${portName} is ${port.containerPort}`);
      }
      if (env[variable] && !env[variable].startsWith("0.0.0.0:")) {
        listenChecks.push(`${variable}=${env[variable]} is not reachable from other pods (use 0.0.0.0)`);
      }
    }
    check(label(`${service}: listen addresses match the container ports`), listenChecks);

    // Probes.
    const probeProblems = [];
    const probes = {};
    for (const kind of ["startupProbe", "livenessProbe", "readinessProbe"]) {
      const probe = container[kind];
      if (!probe) {
        probeProblems.push(`no ${kind}`);
        continue;
      }
      if (isGrpc) {
        const grpcPort = containerPort(container, "grpc")?.containerPort;
        if (!probe.grpc) probeProblems.push(`${kind} is not a gRPC health probe`);
        else if (probe.grpc.port !== grpcPort) probeProblems.push(`${kind} probes port ${probe.grpc.port}, gRPC is ${grpcPort}`);
        if (probe.grpc?.service) probeProblems.push(`${kind} names a service; the server reports overall health ("")`);
        probes[kind] = { type: "grpc", port: probe.grpc?.port };
      } else {
        const want = kind === "readinessProbe" ? "/readyz" : "/healthz";
        const port = containerPort(container, probe.httpGet?.port);
        const admin = containerPort(container, "admin");
        if (!probe.httpGet) probeProblems.push(`${kind} is not an HTTP probe`);
        // /readyz is served on the admin port only (the public one answers 404).
        else if (!admin || port?.containerPort !== admin.containerPort) {
          probeProblems.push(`${kind} probes port ${probe.httpGet.port}, not the admin port`);
        }
        else if (probe.httpGet.path !== want) probeProblems.push(`${kind} path ${probe.httpGet.path}, want ${want}`);
        if (!port) probeProblems.push(`${kind} port ${probe.httpGet?.port} is not a container port`);
        probes[kind] = { type: "http", port: port?.containerPort, path: probe.httpGet?.path };
      }
    }
    check(label(`${service}: probes use what the binary serves`), probeProblems);

    // Scraping.
    const annotations = deployment.spec.template.metadata.annotations ?? {};
    const metricsPort = containerPort(container, isGrpc ? "metrics" : "admin")?.containerPort;
    check(label(`${service}: Prometheus scrape annotations point at /metrics`), [
      annotations["prometheus.io/scrape"] === "true" ? null : "prometheus.io/scrape is not \"true\"",
      Number(annotations["prometheus.io/port"]) === metricsPort ? null : `prometheus.io/port is not ${metricsPort}`,
      annotations["prometheus.io/path"] === "/metrics" ? null : "prometheus.io/path is not /metrics",
    ]);

    // Shutdown.
    check(label(`${service}: the grace period covers the preStop pause and the drain`), [
      pod.terminationGracePeriodSeconds > sleepSeconds(container) + DRAIN_SECONDS
        ? null
        : `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} <= ${sleepSeconds(container)} + ${DRAIN_SECONDS}`,
      sleepSeconds(container) > 0 ? null : "no preStop pause for the endpoints to catch up",
    ]);

    // Dial targets: headless Services of the right pods and ports, through gRPC's DNS resolver.
    const dialProblems = [];
    const endpoints = {};
    for (const [target, variable] of Object.entries(TARGET_VARIABLE)) {
      const value = env[variable];
      if (value === undefined || target === service) continue;
      const match = /^dns:\/\/\/([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)$/.exec(value);
      if (!match) {
        dialProblems.push(`${variable}=${value} is not dns:///<service>.<namespace>.svc.cluster.local:<port>`);
        continue;
      }
      const [, serviceName, ns, port] = match;
      const svc = named("Service", serviceName);
      const targetDeployment = named("Deployment", target);
      if (ns !== namespace) dialProblems.push(`${variable} points into namespace ${ns}`);
      if (!svc) {
        dialProblems.push(`${variable}: no Service ${serviceName}`);
        continue;
      }
      if (svc.spec.clusterIP !== "None") dialProblems.push(`${variable}: Service ${serviceName} is not headless`);
      if (!targetDeployment || !matchesSelector({ matchLabels: svc.spec.selector }, targetDeployment.spec.template.metadata.labels)) {
        dialProblems.push(`${variable}: Service ${serviceName} does not select the ${target} pods`);
      }
      const servicePort = svc.spec.ports.find((p) => p.port === Number(port));
      const targetContainer = targetDeployment?.spec.template.spec.containers.find((c) => c.name === target);
      const podPort = servicePort && targetContainer && containerPort(targetContainer, servicePort.targetPort);
      if (!podPort || podPort.name !== "grpc") {
        dialProblems.push(`${variable}: port ${port} of Service ${serviceName} is not ${target}'s gRPC port`);
      }
      endpoints[variable] = { service: target, port: podPort?.containerPort ?? Number(port) };
    }
    check(label(`${service}: dial targets are the headless Services of the right pods`), dialProblems);

    // Redis and data files.
    const dataProblems = [];
    if (env.LIVECALL_REDIS_URL !== undefined) {
      const match = /^redis:\/\/([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)\/\d+$/.exec(env.LIVECALL_REDIS_URL);
      const redisService = match && named("Service", match[1]);
      if (!redisService || !redisService.spec.ports.some((p) => p.port === Number(match[3]))) {
        dataProblems.push(`LIVECALL_REDIS_URL=${env.LIVECALL_REDIS_URL} names no Service port`);
      }
    }
    const files = {};
    for (const [name, value] of Object.entries(env)) {
      if (!/_FILE$/.test(name)) continue;
      const file = value.startsWith(IMAGE_DATA_DIR) ? value.slice(IMAGE_DATA_DIR.length) : null;
      if (!file || !existsSync(path.join(args.repo, "data", file))) {
        dataProblems.push(`${name}=${value} is not a data file the image ships (${IMAGE_DATA_DIR})`);
      } else {
        files[name] = file;
      }
    }
    check(label(`${service}: Redis and data files point at what exists`), dataProblems);

    // Images come from the Dockerfile's target of the same name.
    check(label(`${service}: the image is the Dockerfile's ${service} target`), [
      dockerTargets.has(service) ? null : `the Dockerfile has no target ${service} running livecall-${service}`,
      /(^|\/)(livecall-)?([a-z-]+)(:|$)/.exec(container.image)?.[3] === service ||
      container.image.split(":")[0].endsWith(`/${service}`) ||
      container.image.split(":")[0].endsWith(`livecall-${service}`)
        ? null
        : `image ${container.image} is not livecall's ${service}`,
    ]);

    runtime.push({
      name: service,
      env,
      secret_refs: secretRefs,
      endpoints,
      files,
      ports: Object.fromEntries((container.ports ?? []).map((p) => [p.name, p.containerPort])),
      probes,
      metrics: { port: metricsPort, path: annotations["prometheus.io/path"] },
    });
  }

  // Services select their pods and expose named container ports.
  check(
    label("every Service selects one workload and targets its container ports"),
    services.flatMap((svc) => {
      const selected = workloads.filter((w) =>
        matchesSelector({ matchLabels: svc.spec.selector }, w.spec.template.metadata.labels),
      );
      if (selected.length !== 1) return [`Service/${svc.metadata.name} selects ${selected.length} workloads`];
      const containers = selected[0].spec.template.spec.containers;
      return svc.spec.ports
        .filter((p) => !containers.some((c) => containerPort(c, p.targetPort ?? p.port)))
        .map((p) => `Service/${svc.metadata.name} port ${p.port} targets no container port`);
    }),
  );
  check(
    label("the gateway's admin port (/readyz, /metrics) is in no Service and no Ingress"),
    (() => {
      const admin = containerPort(named("Deployment", "gateway")?.spec.template.spec.containers[0] ?? {}, "admin");
      if (!admin) return ["the gateway has no container port named admin"];
      const exposed = (p) => p.targetPort === "admin" || p.targetPort === admin.containerPort ||
        (p.targetPort === undefined && p.port === admin.containerPort);
      return services
        .filter((svc) => svc.spec.ports.some(exposed))
        .map((svc) => `Service/${svc.metadata.name} exposes the admin port`)
        .concat(
          byKind("Ingress").flatMap((i) =>
            (i.spec.rules ?? []).flatMap((r) => r.http?.paths ?? [])
              .filter((path) => [admin.name, admin.containerPort].includes(path.backend?.service?.port?.name ?? path.backend?.service?.port?.number))
              .map(() => `Ingress/${i.metadata.name} routes the admin port`),
          ),
        );
    })(),
  );
  check(
    label("gRPC services are headless (round_robin over every pod)"),
    GRPC_SERVICES.filter((s) => named("Service", s)?.spec.clusterIP !== "None").map((s) => `${s} is not headless`),
  );

  // Availability.
  check(
    label("a PodDisruptionBudget for each service"),
    SERVICES.filter(
      (s) =>
        !byKind("PodDisruptionBudget").some((pdb) =>
          matchesSelector(pdb.spec.selector, named("Deployment", s)?.spec.template.metadata.labels ?? {}),
        ),
    ).map((s) => `${s} has none`),
  );
  check(
    label("autoscalers for gateway, ai-session and call-control; no fixed replicas under one"),
    ["gateway", "ai-session", "call-control"].flatMap((s) => {
      const hpa = byKind("HorizontalPodAutoscaler").find(
        (h) => h.spec.scaleTargetRef.kind === "Deployment" && h.spec.scaleTargetRef.name === s,
      );
      if (!hpa) return [`no HorizontalPodAutoscaler for ${s}`];
      const problems = [];
      if (!(hpa.spec.minReplicas >= 1 && hpa.spec.maxReplicas >= hpa.spec.minReplicas)) {
        problems.push(`${s}: replicas ${hpa.spec.minReplicas}..${hpa.spec.maxReplicas}`);
      }
      if (named("Deployment", s)?.spec.replicas !== undefined) {
        problems.push(`${s}: Deployment sets replicas, which every apply would reset under the autoscaler`);
      }
      return problems;
    }),
  );

  // Network policies.
  const policies = byKind("NetworkPolicy");
  const podLabels = (name) => workloads.find((w) => w.metadata.name === name)?.spec.template.metadata.labels ?? {};
  // True when some policy lets pods labelled `fromLabels` (undefined: outside the namespace) reach
  // `port` (a name) of workload `to`.
  const allowed = (fromLabels, to, port) =>
    policies.some(
      (p) =>
        matchesSelector(p.spec.podSelector, podLabels(to)) &&
        (p.spec.ingress ?? []).some(
          (rule) =>
            (rule.ports ?? [{ port }]).some((rp) => rp.port === port || rp.port === undefined) &&
            ((rule.from ?? []).length === 0 ||
              rule.from.some((peer) =>
                fromLabels === undefined
                  ? peer.namespaceSelector !== undefined || peer.ipBlock !== undefined
                  : peer.podSelector !== undefined && peer.namespaceSelector === undefined &&
                    matchesSelector(peer.podSelector, fromLabels),
              )),
        ),
    );
  const denyAll = policies.some(
    (p) =>
      (p.spec.policyTypes ?? []).includes("Ingress") &&
      (p.spec.ingress ?? []).length === 0 &&
      workloads.every((w) => matchesSelector(p.spec.podSelector, w.spec.template.metadata.labels)),
  );
  const redisClients = runtime.filter((r) => r.env.LIVECALL_REDIS_URL !== undefined).map((r) => r.name);
  check(label("network policies: only the gateway is reachable from outside the namespace"), [
    denyAll ? null : "no policy denies ingress to every pod by default",
    allowed(undefined, "gateway", "http") ? null : "the gateway is not reachable from outside",
    ...GRPC_SERVICES.filter((s) => allowed(undefined, s, "grpc")).map((s) => `${s}'s gRPC port is reachable from outside`),
    allowed(undefined, "redis", "redis") ? "Redis is reachable from outside" : null,
  ]);
  check(label("network policies: every dialled service accepts its callers"), [
    ...SERVICES.flatMap((from) =>
      DIALS[from].map((variable) => {
        const to = Object.entries(TARGET_VARIABLE).find(([, v]) => v === variable)[0];
        return allowed(podLabels(from), to, "grpc") ? null : `${from} cannot reach ${to}`;
      }),
    ),
  ]);
  check(label("network policies: Redis only from the services that use it"), [
    ...redisClients.filter((s) => !allowed(podLabels(s), "redis", "redis")).map((s) => `${s} cannot reach Redis`),
    ...SERVICES.filter((s) => !redisClients.includes(s) && allowed(podLabels(s), "redis", "redis")).map(
      (s) => `${s} does not use Redis but may reach it`,
    ),
  ]);

  // Ingress: the gateway only; the event stream unbuffered with long timeouts.
  const ingresses = byKind("Ingress");
  const backends = ingresses.flatMap((i) =>
    (i.spec.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((p) => ({ ingress: i, path: p }))),
  );
  const events = backends.filter((b) => b.path.path.includes("events"));
  // The gateway's Server-Sent Events routes (the protos' live-event RPCs), as concrete paths.
  const streams = ["/api/calls/CA123/events", "/ai/sessions/ses_1/events", "/api/ai/sessions/ses_1/events"];
  check(label("Ingress: only the gateway, SSE unbuffered with long timeouts"), [
    ...backends.filter((b) => b.path.backend.service?.name !== "gateway").map((b) => `${b.path.path} goes to ${b.path.backend.service?.name}`),
    ...streams
      .filter((stream) => !events.some((b) => new RegExp(`^${b.path.path}$`).test(stream)))
      .map((stream) => `no event-stream Ingress path serves ${stream}`),
    ...events.flatMap(({ ingress }) => {
      const a = ingress.metadata.annotations ?? {};
      return [
        a["nginx.ingress.kubernetes.io/proxy-buffering"] === "off" ? null : `${ingress.metadata.name}: buffering is on`,
        Number(a["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600 ? null : `${ingress.metadata.name}: read timeout under an hour`,
      ];
    }),
  ]);

  // Twilio signs the public URL of each webhook: LIVECALL_PUBLIC_URL must be the Ingress's origin.
  const hosts = new Set(ingresses.flatMap((i) => (i.spec.rules ?? []).map((r) => r.host)));
  const tlsHosts = new Set(ingresses.flatMap((i) => (i.spec.tls ?? []).flatMap((t) => t.hosts ?? [])));
  check(
    label("LIVECALL_PUBLIC_URL is the Ingress's origin (scheme by TLS)"),
    runtime
      .filter((r) => r.env.LIVECALL_PUBLIC_URL !== undefined)
      .map((r) => {
        const url = new URL(r.env.LIVECALL_PUBLIC_URL);
        const scheme = tlsHosts.has(url.hostname) ? "https:" : "http:";
        return hosts.has(url.hostname) && url.protocol === scheme && url.pathname === "/"
          ? null
          : `${r.name}: LIVECALL_PUBLIC_URL=${r.env.LIVECALL_PUBLIC_URL}, Ingress hosts ${[...hosts]}`;
      }),
  );

  // Redis: persistent and append-only.
  const redis = named("StatefulSet", "redis");
  const redisArgs = redis?.spec.template.spec.containers[0].args ?? [];
  const dataDir = redisArgs[redisArgs.indexOf("--dir") + 1];
  check(label("Redis: a StatefulSet, append-only, on a PersistentVolumeClaim"), [
    redis ? null : "no StatefulSet redis",
    redisArgs[redisArgs.indexOf("--appendonly") + 1] === "yes" ? null : "appendonly is not on",
    (redis?.spec.volumeClaimTemplates ?? []).some((t) =>
      redis.spec.template.spec.containers[0].volumeMounts?.some((m) => m.name === t.metadata.name && m.mountPath === dataDir),
    )
      ? null
      : "the data directory is not on a volume claim",
  ]);

  return runtime;
}

// The Dockerfile's per-service targets: "FROM runtime AS <name>" followed by its ENTRYPOINT.
const dockerTargets = new Set();
{
  const dockerfile = readFileSync(path.join(args.repo, "Dockerfile"), "utf8");
  for (const match of dockerfile.matchAll(/^FROM runtime AS ([a-z-]+)\n(?:.*\n)*?ENTRYPOINT \["[^"]*livecall-([a-z-]+)"\]/gm)) {
    if (match[1] === match[2]) dockerTargets.add(match[1]);
  }
}

const output = { overlays: {} };
for (const overlay of OVERLAYS) {
  let objects;
  try {
    objects = render(overlay);
  } catch (error) {
    check(`${overlay}: kubectl kustomize renders the overlay`, String(error.stderr || error.message));
    continue;
  }
  check(`${overlay}: kubectl kustomize renders the overlay`, objects.length > 0 ? null : "nothing rendered");
  output.overlays[overlay] = { workloads: checkOverlay(overlay, objects) };
}
writeFileSync(args.out, JSON.stringify(output, null, 2));
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
