// SPDX-License-Identifier: GPL-3.0-or-later
//
// Flamenco custom job type: shape-key lip sync for many characters in one or more .blend files.
// Place this file in the `scripts` folder beside the flamenco-manager executable (see
// docs/farm.md). compileJob splits the job list into chunks of `chunk_size` jobs and makes one
// `blender` task per chunk running lipsync_addon/batch.py. Chunks of different .blend files run
// side by side; chunks of the same file are chained (each depends on the one before and opens
// its output), so no two tasks ever write the same file. With `curves_dir` (the output folder
// of `python -m inference batch`) the tasks key those curves and load the model only for a job that has none.
//
// The `jobs` setting is a JSON list: [{"object": "Face", "strip": "Dialogue", "scene": "Shot",
// "mapping": "arkit", "lead_ms": 30, "curves": "line001.json", "blend": "/shared/sh010.blend"}]
// where "blend" defaults to the submitted file and "scene", "mapping", "lead_ms", "curves" are
// optional. (The OpenJD template keeps whole files in one task instead, because its tasks
// cannot depend on one another; here Flamenco's task dependencies chain a file's chunks.)

const JOB_TYPE = {
    label: "Lip Sync (shape keys)",
    description: "Key mouth shape keys from dialogue, chunk by chunk",
    settings: [
        {
            key: "jobs", type: "string", required: true, visible: "submission",
            description: "JSON list of {object, strip, scene, mapping, lead_ms, curves, blend}",
        },
        {
            key: "chunk_size", type: "int32", default: 4, visible: "submission",
            description: "Number of object/strip jobs in one Blender task",
        },
        {
            key: "output_dir", type: "string", subtype: "dir_path", required: true,
            visible: "submission",
            description: "Each .blend is saved here under its own name",
        },
        {
            key: "curves_dir", type: "string", subtype: "dir_path", default: "",
            visible: "submission",
            description: "Curves files from 'python -m inference batch' (empty: run the model)",
        },
        {
            key: "addon_dir", type: "string", subtype: "dir_path", required: true,
            visible: "submission",
            description: "The Lip Sync checkout or extension folder on the workers",
        },
        {
            key: "extra_args", type: "string", default: "--mapping arkit", visible: "submission",
            description: "More batch.py options, separated by spaces",
        },
        // Filled by the Flamenco add-on with the submitted file's path on the farm.
        { key: "blendfile", type: "string", required: true, visible: "web",
          description: "Path of the submitted .blend file" },
    ],
};

function compileJob(job) {
    const settings = job.settings;
    const jobs = parseJobs(settings.jobs, settings.blendfile);
    const chunkSize = Math.max(1, settings.chunk_size || 1);
    const script = joinPath(settings.addon_dir, "lipsync_addon/batch.py");
    const extra = splitArgs(settings.extra_args || "");
    const groups = groupByBlend(jobs);

    for (const group of groups) {
        const output = joinPath(settings.output_dir, baseName(group.blend));
        const chunks = chunked(group.jobs, chunkSize);
        let previous = null;
        for (let i = 0; i < chunks.length; i++) {
            const taskJobs = chunks[i].map(stripBlend);
            const args = ["--python", script, "--",
                          "--jobs", JSON.stringify(taskJobs),
                          "--output", output, "--keep-going", "--json"];
            if (settings.curves_dir) {
                args.push("--curves", settings.curves_dir);
            }
            const task = author.Task(
                `lipsync-${baseName(group.blend)}-${i + 1}of${chunks.length}`, "blender");
            task.addCommand(author.Command("blender-render", {
                exe: "{blender}",
                exeArgs: "{blenderArgs}",
                argsBefore: [],
                // the first chunk opens the source; later ones continue from its output
                blendfile: i === 0 ? group.blend : output,
                args: args.concat(extra),
            }));
            if (previous !== null) {
                task.addDependency(previous);
            }
            job.addTask(task);
            previous = task;
        }
    }
}

// The job list with every entry checked; one clear sentence on the first bad one.
function parseJobs(text, defaultBlend) {
    let list;
    try {
        list = JSON.parse(text);
    } catch (e) {
        throw `The 'jobs' setting is not JSON (${e}); give a list like [{"object": "Face"}].`;
    }
    if (!Array.isArray(list) || list.length === 0) {
        throw "The 'jobs' setting must be a non-empty JSON list of {object, strip, ...}.";
    }
    return list.map((entry, index) => {
        if (typeof entry !== "object" || entry === null || !entry.object) {
            throw `Job ${index + 1} of the 'jobs' setting has no 'object' name.`;
        }
        const blend = entry.blend || defaultBlend;
        if (!blend) {
            throw `Job ${index + 1} names no 'blend' file and no file was submitted.`;
        }
        return Object.assign({}, entry, { blend: blend });
    });
}

// Jobs grouped by .blend file, in order of first appearance: [{blend, jobs}].
function groupByBlend(jobs) {
    const groups = [];
    const index = {};
    for (const entry of jobs) {
        if (!(entry.blend in index)) {
            index[entry.blend] = groups.length;
            groups.push({ blend: entry.blend, jobs: [] });
        }
        groups[index[entry.blend]].jobs.push(entry);
    }
    return groups;
}

function chunked(list, size) {
    const out = [];
    for (let i = 0; i < list.length; i += size) {
        out.push(list.slice(i, i + size));
    }
    return out;
}

function stripBlend(entry) {
    const copy = Object.assign({}, entry);
    delete copy.blend;
    return copy;
}

function baseName(path) {
    const parts = path.split(/[\\/]/);
    return parts[parts.length - 1];
}

function joinPath(dir, name) {
    if (!dir) {
        return name;
    }
    const sep = dir.indexOf("\\") >= 0 && dir.indexOf("/") < 0 ? "\\" : "/";
    return dir.replace(/[\\/]+$/, "") + sep + name.split("/").join(sep);
}

function splitArgs(text) {
    return text.split(/\s+/).filter((s) => s.length > 0);
}
