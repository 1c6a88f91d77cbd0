"""The event vocabulary: what capture appends to the buffer and the log stores, one tuple each.

Events are plain tuples whose first item names the kind.  They are cheap to make on the hot path
(no formatting, no I/O), and the log writes them as JSON arrays, one line per batch, in
``.prov/<run-id>/events.jsonl``.  Exporters read them back with :func:`autoprov.log.reader.read_events`.
Times are integer nanoseconds since the Unix epoch (``time.time_ns()``).  Activity and object ids
are small integers unique within the run; the exporter turns them into qualified PROV ids.

=========  ===================================================================================
kind       fields after the kind
=========  ===================================================================================
RUN        run_id, t, info (dict: argv, cwd, pid, script, module, engine, engine_reason,
           filters, hash_algorithm, autoprov_version, python)
ACT        act, parent (act id or None for the run), name, rule_id (ending in ``#getter``,
           :data:`GETTER`, for a call of a property's getter: a read), t, thread (name), params
           (dict name -> rendered value)
END        act, t, status ("completed" | "failed"), error (None or "ExcType: message")
           [, results (dict path -> rendered value: a rule's ``results``, read at return)]
USE        act, role, obj, t                  an activity used a Python-object entity
GEN        act, role, obj, t                  an activity generated a Python-object entity
OBJ        obj, description (dict: type, repr, name, shape, dtype, length, entity, ...)
REV        obj, previous obj, act or None     obj is a new version of previous (its state changed:
                                              in the activity act, or between recorded calls)
MEMBER     collection obj, member obj         hadMember
FILEARG    act, role, path, direction ("used" | "generated")  a filename argument of an activity
FILE       act or None, op, path, t, extra    op: "read" | "write" | "update" | "truncate" | "remove" |
           [, details]                        "rename" | "copy" | "link" | "symlink" | "mkdir" |
                                              "listdir" | "import"; extra: the version (read, write,
                                              update, truncate, import), the destination path
                                              (rename, copy, link), the link's target (symlink) or
                                              None.  Paths are absolute real paths; details (dict):
                                              "via": the path as opened, through a symbolic link;
                                              "module": the module name of an "import" (a module of
                                              the program's own, read by the import system)
DIGEST     path, version, algorithm, hexdigest, size, mtime_ns
                                              version 0 is the file as found before the run; each
                                              open for writing starts a new version
SCOPE      scope (dict: folders, kept,        what the file record leaves out, emitted once at stop
           ignored_callers)
ERROR      component, message                 capture degraded (never the user's error)
DESC       name, description (dict)           the IVOA ActivityDescription of the activities
                                              called ``name`` (from ``Rule.description``: keys such
                                              as description, doculink, type, subtype, version,
                                              parameters, usage, generation); emitted at most once
                                              per name, before or after its ACT events
ENV        environment (dict)                 the execution environment, collected at stop
                                              (:func:`autoprov.environment.collect`), just
                                              before EXIT
EXIT       t, status, exit_code, info (dict: cpu_time, peak_rss, duration, ...)
INFORM     act, process, act2                 ``wasInformedBy``: a pool task (act) was submitted by
                                              activity act2 of process ``process`` (a key below)
CMDPID     act, pid                           the command activity ``act`` started process ``pid``
PROC       process, t, info (dict: pid, ppid, kind, parent [process, act] or None, argv, ...)
                                              first event of a child process' own log
=========  ===================================================================================

Child processes (:mod:`autoprov.children`) write their own logs, ``children/<process>.jsonl`` in
the run folder, with ids local to the process; the log of the run's first process has the key
``main``.  The reader merges them (:func:`autoprov.log.merge.merged_events`): ids are made
unique, PROC and a child's EXIT become the process activity, INFORM refers to global ids.

``status`` in EXIT is "completed", "failed" (uncaught exception or non-zero exit),
"interrupted" (KeyboardInterrupt / SIGTERM).  A log with no EXIT is an "incomplete" run.
"""

RUN = "run"
ACT = "act"
END = "end"
USE = "use"
GEN = "gen"
OBJ = "obj"
REV = "rev"
MEMBER = "member"
FILEARG = "filearg"
FILE = "file"
DIGEST = "digest"
SCOPE = "scope"
ERROR = "error"
DESC = "desc"
ENV = "env"
EXIT = "exit"
INFORM = "inform"
CMDPID = "cmdpid"
PROC = "proc"

# The end of an ACT event's rule_id for a call of a property's getter.  The planner gives a getter's
# rule this id once per code object, so marking a read costs the recorder nothing per call; the model
# takes it off again (Activity.rule, Activity.accessor).
GETTER = "#getter"

KINDS = (RUN, ACT, END, USE, GEN, OBJ, REV, MEMBER, FILEARG, FILE, DIGEST, SCOPE, ERROR, DESC, ENV, EXIT, INFORM, CMDPID, PROC)

# The shape of each kind, as the table above says it: the types of the fields after the kind, in order
# ("int?": an int or None; "hex": a hex digest or None; "algorithm": a digest algorithm's name; "any": any
# JSON value).  Trailing extra fields are allowed (a newer version may add some); OPTIONAL_FIELDS counts
# the trailing fields that may be left out.  The log reader checks every event against this table.
SHAPES: dict[str, tuple[str, ...]] = {
    RUN: ("str", "int", "dict"),
    ACT: ("int", "int?", "str", "str", "int", "str", "dict?"),
    END: ("int", "int", "str", "str?", "dict?"),
    USE: ("int", "str", "int", "int?"),
    GEN: ("int", "str", "int", "int?"),
    OBJ: ("int", "dict?"),
    REV: ("int", "int", "int?"),
    MEMBER: ("int", "int"),
    FILEARG: ("int", "str", "str", "str"),
    FILE: ("int?", "str", "str", "int", "any"),
    DIGEST: ("str", "int", "algorithm", "hex", "int?", "int?"),
    SCOPE: ("dict",),
    ERROR: ("str", "str"),
    DESC: ("str", "dict?"),
    ENV: ("dict",),
    EXIT: ("int", "str", "int?", "dict?"),
    INFORM: ("int", "str", "int?"),
    CMDPID: ("int", "int"),
    PROC: ("str", "int", "dict"),
}
OPTIONAL_FIELDS = {END: 1}  # END's results

MAIN = "main"  # the process key of a run's first process (its log is events.jsonl)
