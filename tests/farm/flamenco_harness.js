// A stand-in for Flamenco Manager's job compiler, for tests: it implements the API that job
// compiler scripts see as Flamenco documents it (flamenco.blender.org, "Job Types" and
// "List of Commands"): the global `author` with author.Task(name, type) -> a task with
// addCommand(command) and addDependency(task), author.Command(name, parameters), a `job` with
// `settings` (defaults from JOB_TYPE filled in, required ones checked), `metadata`, `name` and
// addTask(task), and the globals print() and alert().
//
//   node flamenco_harness.js SCRIPT.js SETTINGS.json   -> {"tasks": [...]} on stdout
//   exit code 1 with {"error": "..."} when compileJob throws or a required setting is missing.
"use strict";
const fs = require("fs");
const vm = require("vm");

function makeTask(name, type) {
    if (typeof name !== "string" || typeof type !== "string") {
        throw new TypeError("author.Task(name, type) takes two strings");
    }
    return {
        name: name, type: type, priority: 50, commands: [], dependencies: [],
        addCommand(command) {
            if (!command || typeof command.name !== "string") {
                throw new TypeError("addCommand takes an author.Command");
            }
            this.commands.push(command);
        },
        addDependency(task) {
            if (!task || !Array.isArray(task.commands)) {
                throw new TypeError("addDependency takes an author.Task");
            }
            this.dependencies.push(task);
        },
    };
}

function makeCommand(name, parameters) {
    if (typeof name !== "string" || typeof parameters !== "object") {
        throw new TypeError("author.Command(name, parameters) takes a string and an object");
    }
    return { name: name, parameters: parameters };
}

function main() {
    const [scriptPath, settingsPath] = process.argv.slice(2);
    const source = fs.readFileSync(scriptPath, "utf8");
    const given = JSON.parse(fs.readFileSync(settingsPath, "utf8"));
    const logs = [];
    const context = vm.createContext({
        author: { Task: makeTask, Command: makeCommand },
        print: (...args) => logs.push(args.join(" ")),
        alert: (...args) => logs.push("ALERT " + args.join(" ")),
    });
    const { JOB_TYPE, compileJob } = vm.runInContext(
        source + "\n;({JOB_TYPE: JOB_TYPE, compileJob: compileJob});", context,
        { filename: scriptPath });
    const settings = {};
    for (const def of JOB_TYPE.settings) {
        if (def.key in given) {
            settings[def.key] = given[def.key];
        } else if ("default" in def) {
            settings[def.key] = def.default;
        } else if (def.required) {
            throw new Error(`required setting ${def.key} is missing`);
        }
    }
    const tasks = [];
    const job = {
        name: "test job", priority: 50, settings: settings, metadata: {},
        addTask(task) { tasks.push(task); },
    };
    compileJob(job);
    const names = new Set();
    for (const t of tasks) {
        if (names.has(t.name)) throw new Error(`two tasks are named ${t.name}`);
        names.add(t.name);
        for (const d of t.dependencies) {
            if (!tasks.includes(d)) throw new Error(`${t.name} depends on a task not in the job`);
        }
    }
    return { label: JOB_TYPE.label, logs: logs, tasks: tasks.map((t) => ({
        name: t.name, type: t.type, commands: t.commands,
        dependencies: t.dependencies.map((d) => d.name) })) };
}

try {
    process.stdout.write(JSON.stringify(main()) + "\n");
} catch (err) {
    process.stdout.write(JSON.stringify({ error: String(err && err.message || err) }) + "\n");
    process.exitCode = 1;
}
