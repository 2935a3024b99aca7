// pod-run.mjs: test-only, for tests/image/test-image.sh.  Reads the
// Deployment and the ConfigMaps it mounts and prints, as JSON, how to
// run its container with podman the way the kubelet would, so the test
// runs the image with the Deployment's own settings instead of a copy:
//
//	node tests/validate/pod-run.mjs -d DEPLOYMENT.yaml -c CONFIGMAP.yaml...
//	    -w WORKDIR -p POD_NAME [-s KEY=VALUE]... [-o FILE:PATH=VALUE]...
//
//  -s  a key of the Secret the Deployment reads (secretKeyRef), with
//      the value this run gives it;
//  -o  in the configMap item mounted as FILE, set the YAML key PATH
//      (dotted) to VALUE, comments kept: what an operator edits for a
//      cluster (kafka.brokers);
//  -w  where the configMap volumes are written (one directory each).
//
// Output: {"args": [podman run arguments before the image], "grace":
// terminationGracePeriodSeconds, "preStop": [exec command or empty],
// "port": the container port named http, "liveness", "readiness",
// "startup": probe paths, "startupBudget": seconds the startup probe
// allows, "user": "uid:gid", "config": {FILE: path of the written
// item}}.  Exits 1 naming what it cannot translate: a field this
// translation does not know would be silently dropped otherwise.

import { mkdirSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments, parseDocument } from "yaml";

function die(msg) {
	console.error(`pod-run: ${msg}`);
	process.exit(1);
}

const opt = { c: [], s: {}, o: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
	const [flag, value] = [argv[i], argv[i + 1]];
	if (value === undefined)
		die(`${flag} needs a value`);
	switch (flag) {
	case "-d": opt.d = value; break;
	case "-w": opt.w = value; break;
	case "-p": opt.p = value; break;
	case "-c": opt.c.push(value); break;
	case "-s": {
		const eq = value.indexOf("=");
		if (eq < 1)
			die(`-s ${value}: not KEY=VALUE`);
		opt.s[value.slice(0, eq)] = value.slice(eq + 1);
		break;
	}
	case "-o": {
		const m = /^([^:]+):([^=]+)=(.*)$/s.exec(value);
		if (m === null)
			die(`-o ${value}: not FILE:PATH=VALUE`);
		opt.o.push({ file: m[1], path: m[2].split("."), value: m[3] });
		break;
	}
	default: die(`unknown option ${flag}`);
	}
}
if (!opt.d || !opt.w || !opt.p)
	die("usage: pod-run.mjs -d DEPLOYMENT -c CONFIGMAP... -w DIR -p POD [-s K=V]... [-o FILE:PATH=V]...");

function objects(file) {
	return parseAllDocuments(readFileSync(file, "utf8"))
	    .filter((d) => d.contents !== null)
	    .map((d) => {
		if (d.errors.length > 0)
			die(`${file}: ${d.errors[0].message}`);
		return d.toJS();
	    });
}

const deployment = objects(opt.d).find((o) => o.kind === "Deployment");
if (deployment === undefined)
	die(`${opt.d}: no Deployment`);
const configMaps = opt.c.flatMap(objects).filter((o) => o.kind === "ConfigMap");
const pod = deployment.spec?.template?.spec ?? die("no pod template");
if ((pod.containers ?? []).length !== 1)
	die("expected one container");
if ((pod.initContainers ?? []).length > 0)
	die("init containers are not translated");
const c = pod.containers[0];
const psc = pod.securityContext ?? {};
const csc = c.securityContext ?? {};
const args = [];

// Who runs it: the container's settings override the pod's.
const uid = csc.runAsUser ?? psc.runAsUser;
const gid = csc.runAsGroup ?? psc.runAsGroup;
if (uid === undefined || gid === undefined)
	die("no runAsUser/runAsGroup: the test runs the numeric user the Deployment sets");
if ((csc.runAsNonRoot ?? psc.runAsNonRoot) === true && uid === 0)
	die("runAsNonRoot with runAsUser 0");
args.push("--user", `${uid}:${gid}`);
if (csc.readOnlyRootFilesystem === true) {
	// podman's --read-only adds tmpfs mounts (/tmp, /run, /var/tmp) by
	// default; the kubelet adds none: only the pod's volumes.
	args.push("--read-only", "--read-only-tmpfs=false");
}
if (csc.allowPrivilegeEscalation === false)
	args.push("--security-opt", "no-new-privileges");
for (const cap of csc.capabilities?.drop ?? [])
	args.push(`--cap-drop=${cap}`);
for (const cap of csc.capabilities?.add ?? [])
	args.push(`--cap-add=${cap}`);
if (csc.privileged === true)
	die("privileged containers are not translated");
args.push("--hostname", opt.p);

// Environment, in order, each source resolved as the kubelet does.
const secretName = new Set();
for (const e of c.env ?? []) {
	if (e.value !== undefined) {
		args.push("--env", `${e.name}=${e.value}`);
	} else if (e.valueFrom?.fieldRef !== undefined) {
		const path = e.valueFrom.fieldRef.fieldPath;
		const fields = { "metadata.name": opt.p,
		    "metadata.namespace": deployment.metadata?.namespace ?? "default" };
		if (fields[path] === undefined)
			die(`env ${e.name}: fieldRef ${path} is not translated`);
		args.push("--env", `${e.name}=${fields[path]}`);
	} else if (e.valueFrom?.secretKeyRef !== undefined) {
		const ref = e.valueFrom.secretKeyRef;
		secretName.add(ref.name);
		if (opt.s[ref.key] !== undefined)
			args.push("--env", `${e.name}=${opt.s[ref.key]}`);
		else if (ref.optional !== true)
			die(`env ${e.name}: Secret ${ref.name} key ${ref.key} not given (-s ${ref.key}=...)`);
	} else {
		die(`env ${e.name}: this source is not translated`);
	}
}
if ((c.envFrom ?? []).length > 0)
	die("envFrom is not translated");
for (const key of Object.keys(opt.s)) {
	if (!(c.env ?? []).some((e) => e.valueFrom?.secretKeyRef?.key === key))
		die(`-s ${key}: the Deployment reads no such Secret key`);
}

// Volumes: configMap items as read-only directories, emptyDir as tmpfs.
const units = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1000, M: 1000 ** 2,
    G: 1000 ** 3, "": 1 };
function bytes(q) {
	const m = /^(\d+)([KMG]i?|k)?$/.exec(String(q));
	if (m === null || units[m[2] ?? ""] === undefined)
		die(`quantity ${q} is not translated`);
	return Number(m[1]) * units[m[2] ?? ""];
}
const config = {};
const used = new Set();
for (const vm of c.volumeMounts ?? []) {
	const v = (pod.volumes ?? []).find((x) => x.name === vm.name);
	if (v === undefined)
		die(`volumeMount ${vm.name}: no such volume`);
	if (vm.subPath !== undefined)
		die(`volumeMount ${vm.name}: subPath is not translated`);
	if (v.configMap !== undefined) {
		const cm = configMaps.find((x) => x.metadata?.name === v.configMap.name);
		if (cm === undefined)
			die(`volume ${v.name}: ConfigMap ${v.configMap.name} not given (-c)`);
		const dir = join(opt.w, "volumes", v.name);
		mkdirSync(dir, { recursive: true });
		chmodSync(dir, 0o755);
		const items = v.configMap.items ??
		    Object.keys(cm.data ?? {}).map((k) => ({ key: k, path: k }));
		for (const it of items) {
			if (cm.data?.[it.key] === undefined)
				die(`volume ${v.name}: ConfigMap ${cm.metadata.name} has no key ${it.key}`);
			if (it.path.includes("/"))
				die(`volume ${v.name}: nested item paths are not translated`);
			let text = cm.data[it.key];
			for (const o of opt.o.filter((x) => x.file === it.path)) {
				used.add(o);
				const doc = parseDocument(text);
				if (!doc.hasIn(o.path))
					die(`-o ${o.file}:${o.path.join(".")}: no such key`);
				doc.setIn(o.path, o.value);
				text = doc.toString();
			}
			const file = join(dir, it.path);
			writeFileSync(file, text);
			chmodSync(file, 0o644);
			config[it.path] = file;
		}
		args.push("--volume", `${dir}:${vm.mountPath}:ro`);
	} else if (v.emptyDir !== undefined) {
		const o = ["rw", "mode=1777"];
		if (v.emptyDir.sizeLimit !== undefined)
			o.push(`size=${bytes(v.emptyDir.sizeLimit)}`);
		args.push("--tmpfs", `${vm.mountPath}:${o.join(",")}`);
	} else {
		die(`volume ${v.name}: only configMap and emptyDir are translated`);
	}
}
for (const o of opt.o) {
	if (!used.has(o))
		die(`-o ${o.file}: no configMap item of that name is mounted`);
}

if (c.command !== undefined)
	die("command is not translated (the image's ENTRYPOINT is what runs)");
if ((c.args ?? []).length > 0)
	die("args are not translated");
if (c.workingDir !== undefined)
	args.push("--workdir", c.workingDir);

// Limits as the kubelet sets them in the container's cgroup.
const limits = c.resources?.limits ?? {};
if (limits.memory !== undefined)
	args.push("--memory", String(bytes(limits.memory)));
if (limits.cpu !== undefined) {
	const m = /^(\d+)(m?)$/.exec(String(limits.cpu));
	if (m === null)
		die(`cpu limit ${limits.cpu} is not translated`);
	args.push("--cpus", String(m[2] === "m" ? Number(m[1]) / 1000 : Number(m[1])));
}

const port = (c.ports ?? []).find((p) => p.name === "http");
if (port === undefined)
	die("no container port named http");
function probePath(name) {
	const p = c[name]?.httpGet;
	if (p === undefined)
		die(`${name}: not an httpGet probe`);
	if (p.port !== "http" && p.port !== port.containerPort)
		die(`${name}: not on the http port`);
	return p.path;
}
const startup = c.startupProbe ?? {};

console.log(JSON.stringify({
	args,
	grace: pod.terminationGracePeriodSeconds ?? 30,
	preStop: c.lifecycle?.preStop?.exec?.command ?? [],
	port: port.containerPort,
	liveness: probePath("livenessProbe"),
	readiness: probePath("readinessProbe"),
	startup: probePath("startupProbe"),
	startupBudget: (startup.periodSeconds ?? 10) *
	    (startup.failureThreshold ?? 3) + (startup.initialDelaySeconds ?? 0),
	user: `${uid}:${gid}`,
	secrets: [...secretName],
	config,
}));
