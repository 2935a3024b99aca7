// validate.mjs: test-only.  Checks Kubernetes manifests against the
// published schemas of kubernetes-models and
// @kubernetes-models/prometheus-operator (versions pinned by
// package-lock.json; `make test` runs `npm ci` here).
//
//	node tests/validate/validate.mjs FILE...
//
// Every YAML document of every FILE must be of a kind listed below and
// pass that kind's validate(); one line per document goes to stdout,
// "ok FILE KIND NAME" or "FAIL FILE KIND NAME: why".  Exit status 1 if
// any document fails or is of a kind with no schema here.

import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

import { Deployment } from "kubernetes-models/apps/v1";
import { ConfigMap, Service, Secret } from "kubernetes-models/v1";
import {
	PrometheusRule,
	ServiceMonitor,
} from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import {
	AlertmanagerConfig,
} from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1";

const kinds = {
	"apps/v1 Deployment": Deployment,
	"v1 ConfigMap": ConfigMap,
	"v1 Service": Service,
	"v1 Secret": Secret,
	"monitoring.coreos.com/v1 PrometheusRule": PrometheusRule,
	"monitoring.coreos.com/v1 ServiceMonitor": ServiceMonitor,
	"monitoring.coreos.com/v1alpha1 AlertmanagerConfig": AlertmanagerConfig,
};

function check(file, doc) {
	const obj = doc.toJS();
	const kind = `${obj?.apiVersion} ${obj?.kind}`;
	const name = obj?.metadata?.name ?? "(no name)";
	const Model = kinds[kind];

	if (doc.errors.length > 0)
		return `FAIL ${file} ${kind} ${name}: ${doc.errors[0].message}`;
	if (Model === undefined)
		return `FAIL ${file} ${kind} ${name}: no schema for this kind`;
	try {
		new Model(obj).validate();
	} catch (e) {
		return `FAIL ${file} ${kind} ${name}: ${e.message}`;
	}
	return `ok ${file} ${kind} ${name}`;
}

let failed = false;

if (process.argv.length < 3) {
	console.error("usage: node validate.mjs FILE...");
	process.exit(2);
}
for (const file of process.argv.slice(2)) {
	const docs = parseAllDocuments(readFileSync(file, "utf8"))
	    .filter((d) => d.contents !== null);
	for (const doc of docs) {
		const line = check(file, doc);
		console.log(line);
		if (line.startsWith("FAIL"))
			failed = true;
	}
}
process.exit(failed ? 1 : 0);
