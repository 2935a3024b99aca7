// typecheck.mjs: test-only.  What validate.mjs cannot see, checked by
// TypeScript's compiler (`tsc --noEmit`) against published types, all
// pinned by package-lock.json (`make test` runs `npm ci` here):
//
//  - every Kubernetes object against its kind's interface from
//    kubernetes-models / @kubernetes-models/prometheus-operator: a field
//    the kind does not have (a misspelt name) is refused, as
//    `kubectl apply --validate=strict` refuses it, where the JSON
//    schemas of validate.mjs let it through;
//  - every Grafana dashboard (a ConfigMap data value whose key ends in
//    ".json", or a FILE ending in ".json") against the dashboard model
//    of @grafana/schema (its `Dashboard` type).
//
//	node tests/validate/typecheck.mjs FILE...
//
// Each object becomes a TypeScript object literal annotated with its
// type, so the compiler checks every field's type, every enum and
// literal, and refuses fields the type does not declare (excess
// property checks).  One line per object to stdout, "ok FILE WHAT" or
// "FAIL FILE WHAT: diagnostic"; exit status 1 if any fails, is of a
// kind with no type here, or no object was found.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync }
    from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const tsc = join(here, "node_modules", "typescript", "bin", "tsc");

// apiVersion kind -> [module, interface]
const kinds = {
	"apps/v1 Deployment": ["kubernetes-models/apps/v1/Deployment",
	    "IDeployment"],
	"v1 ConfigMap": ["kubernetes-models/v1/ConfigMap", "IConfigMap"],
	"v1 Service": ["kubernetes-models/v1/Service", "IService"],
	"v1 Secret": ["kubernetes-models/v1/Secret", "ISecret"],
	"monitoring.coreos.com/v1 PrometheusRule": [
	    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule",
	    "IPrometheusRule"],
	"monitoring.coreos.com/v1 ServiceMonitor": [
	    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor",
	    "IServiceMonitor"],
	"monitoring.coreos.com/v1alpha1 AlertmanagerConfig": [
	    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1/AlertmanagerConfig",
	    "IAlertmanagerConfig"],
};

// The dashboard model as JSON carries it.  @grafana/schema declares its
// enums as TypeScript enums, which a JSON string never is: a string
// enum becomes the union of its values (`${ThresholdsMode}` is
// "absolute" | "percentage"); numeric enums already take their values.
// Every dashboard field becomes optional: the generated types make the
// fields that have a default in the schema required (asDropdown,
// current.text...), and Grafana fills those in on load.  Types, enums
// and unknown fields are checked as declared.  One addition: a query
// variable's `definition`, the query text Grafana's variable editor
// saves beside the query, which the classic model lacks and the v2
// model declares (QueryVariableSpec: definition?: string).
const dashboardTypes = `
type Wire<T> =
    T extends string ? (string extends T ? string : \`\${T}\`) :
    T extends readonly (infer U)[] ? Wire<U>[] :
    T extends object ? { [K in keyof T]?: Wire<T[K]> } :
    T;

type GrafanaDashboard = Wire<Omit<Dashboard, "templating"> & {
    templating?: { list?: (VariableModel & { definition?: string })[] };
}>;
`;

if (process.argv.length < 3) {
	console.error("usage: node typecheck.mjs FILE...");
	process.exit(2);
}

// Objects to check: { label, type, value }, or { label, error }.
const objects = [];
for (const file of process.argv.slice(2)) {
	const text = readFileSync(file, "utf8");
	if (file.endsWith(".json")) {
		objects.push(dashboard(`${file} ${basename(file)}`, text));
		continue;
	}
	for (const doc of parseAllDocuments(text)) {
		if (doc.contents === null)
			continue;
		const obj = doc.toJS();
		const kind = `${obj?.apiVersion} ${obj?.kind}`;
		const label = `${file} ${kind} ${obj?.metadata?.name ?? "(no name)"}`;
		if (doc.errors.length > 0) {
			objects.push({ label, error: doc.errors[0].message });
			continue;
		}
		if (kinds[kind] === undefined) {
			objects.push({ label, error: "no type for this kind" });
			continue;
		}
		objects.push({ label, type: kinds[kind][1], value: obj });
		if (obj.kind !== "ConfigMap")
			continue;
		for (const [key, value] of Object.entries(obj.data ?? {})) {
			if (key.endsWith(".json"))
				objects.push(dashboard(`${label} ${key}`, value));
		}
	}
}
if (objects.length === 0) {
	console.log(`FAIL ${process.argv.slice(2).join(" ")}: nothing to check`);
	process.exit(1);
}

function dashboard(label, json) {
	try {
		return { label, type: "GrafanaDashboard", value: JSON.parse(json) };
	} catch (e) {
		return { label, error: `not JSON: ${e.message}` };
	}
}

// One source file, every object in it; each object's first and last
// line, to give every diagnostic to its object.
let source = 'import type { Dashboard, VariableModel } from "@grafana/schema";\n';
for (const [module, type] of Object.values(kinds))
	source += `import type { ${type} } from "${module}";\n`;
source += dashboardTypes;
let line = source.split("\n").length;
objects.forEach((o, i) => {
	if (o.error !== undefined)
		return;
	const text = `\nexport const object${i}: ${o.type} = ` +
	    JSON.stringify(o.value, null, 2) + ";\n";
	o.first = line;
	line += text.split("\n").length - 1;
	o.last = line;
	o.diagnostics = [];
	source += text;
});

const work = mkdtempSync(join(tmpdir(), "typecheck-"));
let output = "";
try {
	symlinkSync(join(here, "node_modules"), join(work, "node_modules"));
	writeFileSync(join(work, "tsconfig.json"), JSON.stringify({
		compilerOptions: {
			strict: true,
			noEmit: true,
			pretty: false,
			target: "es2022",
			module: "nodenext",
			moduleResolution: "nodenext",
			skipLibCheck: true,
			types: [],
		},
		files: ["objects.ts"],
	}, null, 2));
	writeFileSync(join(work, "objects.ts"), source);
	try {
		execFileSync(process.execPath, [tsc, "-p", work],
		    { encoding: "utf8", stdio: "pipe" });
	} catch (e) {
		if (typeof e.status !== "number")
			throw e;
		output = e.stdout + e.stderr;
	}
} finally {
	rmSync(work, { recursive: true, force: true });
}

// objects.ts(LINE,COL): error TSxxxx: message (continuation lines
// belong to the diagnostic above them).
const orphans = [];
let current = null;
for (const l of output.split("\n")) {
	const m = /objects\.ts\((\d+),\d+\): (error .*)$/.exec(l);
	if (m === null) {
		if (l.trim() !== "")
			(current ?? orphans).push(l.trim());
		continue;
	}
	const n = Number(m[1]);
	const o = objects.find((x) => x.first !== undefined && n > x.first &&
	    n <= x.last);
	current = o !== undefined ? o.diagnostics : orphans;
	current.push(m[2]);
}

let failed = orphans.length > 0;
for (const o of objects) {
	if (o.error !== undefined) {
		console.log(`FAIL ${o.label}: ${o.error}`);
		failed = true;
	} else if (o.diagnostics.length > 0) {
		console.log(`FAIL ${o.label}: ${o.diagnostics.join(" / ")}`);
		failed = true;
	} else {
		console.log(`ok ${o.label}`);
	}
}
if (orphans.length > 0)
	console.log(`FAIL the compiler: ${orphans.join(" / ")}`);
process.exit(failed ? 1 : 0);
