#!/usr/bin/env node
// Computes CloudFormation template diffs with the diff engine of the pinned CDK CLI.
//
// The CLI bundles @aws-cdk/cloudformation-diff (with CloudFormation's resource
// specification: which property changes replace a resource) into lib/index.js,
// and exposes it through the toolkit's DiffFormatter. Its package.json "exports"
// hide lib/, so the bundle is required by file path; an upgrade of the CLI that
// moves it fails here loudly rather than being worked around.
//
// stdin:  {"stacks": [{"name": "Prod/Data", "old": {...}, "new": {...}}, ...]}
//         (with --serve: one such request per line, answered one line each)
// stdout: {"engine": "...", "statefulTypes": [...], "stacks": {"Prod/Data": [change]}}
// where a change is {logicalId, oldType, newType, impact, properties: {name: impact}}
// and impact is the engine's ResourceImpact (WILL_REPLACE, WILL_DESTROY, ...).
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const zlib = require("node:zlib");

const cliRoot = path.dirname(
  require.resolve("aws-cdk/package.json", { paths: [path.join(__dirname, "..")] }),
);
const { DiffFormatter } = require(path.join(cliRoot, "lib", "index.js"));
if (typeof DiffFormatter !== "function") {
  throw new Error(`aws-cdk at ${cliRoot} no longer exports DiffFormatter`);
}

// The same resource database the diff engine reads: types it marks as stateful.
function statefulTypes() {
  const compressed = fs.readFileSync(path.join(cliRoot, "db.json.gz"));
  const db = JSON.parse(zlib.gunzipSync(compressed));
  return db.schema.resource.entities
    .filter((resource) => resource.isStateful)
    .map((resource) => resource.cloudFormationType)
    .sort();
}

function changesOf(name, oldTemplate, newTemplate) {
  const generated = { displayName: name, template: newTemplate };
  const formatter = new DiffFormatter({
    templateInfo: { oldTemplate, newTemplate: generated },
  });
  const diff = formatter.computeDiff(name, oldTemplate, newTemplate, undefined, {});
  const changes = [];
  diff.resources.forEachDifference((logicalId, change) => {
    const properties = {};
    for (const [property, update] of Object.entries(change.propertyUpdates)) {
      properties[property] = update.changeImpact;
    }
    changes.push({
      logicalId,
      oldType: change.oldResourceType ?? null,
      newType: change.newResourceType ?? null,
      impact: change.changeImpact,
      properties,
    });
  });
  return changes;
}

const version = JSON.parse(fs.readFileSync(path.join(cliRoot, "package.json"))).version;
const engine = `aws-cdk ${version} (bundled @aws-cdk/cloudformation-diff)`;
const stateful = statefulTypes();

function answer(request) {
  const result = { engine, statefulTypes: stateful, stacks: {} };
  for (const stack of request.stacks) {
    result.stacks[stack.name] = changesOf(stack.name, stack.old, stack.new);
  }
  return JSON.stringify(result);
}

if (process.argv.includes("--serve")) {
  // One request per stdin line, one answer per stdout line, until stdin closes:
  // callers that compare many times pay Node's start and the database once.
  const lines = require("node:readline").createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    if (line.trim()) process.stdout.write(`${answer(JSON.parse(line))}\n`);
  });
} else {
  process.stdout.write(answer(JSON.parse(fs.readFileSync(0, "utf-8"))));
}
