// mutate.mjs: test-only.  Writes a copy of a manifest with one value
// set, for the tests proving that the validators refuse a broken file
// (tests/test_manifests.c):
//
//	node tests/validate/mutate.mjs IN OUT PATH JSON
//
// PATH is a "/"-separated path in the first YAML document (numbers
// index sequences); "PATH#JSONPATH" sets JSONPATH inside the JSON text
// found at PATH (a dashboard in a ConfigMap).  JSON is the new value.
// The parent of the last key must exist (a mutation that misses its
// target would prove nothing): exit status 1 naming what is missing.

import { readFileSync, writeFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

function die(msg) {
	console.error(`mutate: ${msg}`);
	process.exit(1);
}

const [input, output, where, json] = process.argv.slice(2);
if (json === undefined)
	die("usage: mutate.mjs IN OUT PATH[#JSONPATH] JSON");
const segments = (p) => p.split("/").map((s) => /^\d+$/.test(s) ? Number(s) : s);
const [yamlPath, jsonPath] = where.split("#").map(segments);
let value;
try {
	value = JSON.parse(json);
} catch (e) {
	die(`${json}: not JSON: ${e.message}`);
}

const docs = parseAllDocuments(readFileSync(input, "utf8"));
const doc = docs.find((d) => d.contents !== null) ?? die(`${input}: empty`);

function setIn(obj, path) {
	let parent = obj;
	for (const key of path.slice(0, -1)) {
		parent = parent?.[key];
		if (parent === null || typeof parent !== "object")
			die(`${input} ${where}: no ${key}`);
	}
	parent[path[path.length - 1]] = value;
}

if (jsonPath === undefined) {
	if (yamlPath.length > 1 && !doc.hasIn(yamlPath.slice(0, -1)))
		die(`${input}: no ${yamlPath.slice(0, -1).join("/")}`);
	doc.setIn(yamlPath, value);
} else {
	const text = doc.getIn(yamlPath);
	if (typeof text !== "string")
		die(`${input}: ${yamlPath.join("/")} is not a string`);
	const obj = JSON.parse(text);
	setIn(obj, jsonPath);
	doc.setIn(yamlPath, JSON.stringify(obj, null, 2) + "\n");
}
writeFileSync(output, docs.map((d) => d.toString()).join(""));
