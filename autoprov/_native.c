/* autoprov._native: the native core of autoprov's two hot paths, twin of the pure-Python code.
 *
 * Every part has a pure-Python twin that behaves the same (autoprov/engine/,
 * autoprov/filtering/plans.py); this module only moves the per-event work that runs millions of
 * times per analysis out of the interpreter:
 *
 *   audit hook   PySys_AddAuditHook, installed once per process.  An event seen before that is not
 *                watched is answered from a cache in ~12 instructions; the others are compared in
 *                C against the file events; only those reach the Python handler.  Measured need: a
 *                gammapy analysis raises 1.7-7.3 million audit events (builtins.id), each of which
 *                cost ~0.35 us in a Python hook.
 *   CodeMap      code object -> plan, by identity (pointer hash), holding both alive.  Code objects
 *                hash by value (bytecode and constants), 0.4-3 us per lookup on 3.12.
 *   FrameTracer  a C trace / profile function for the settrace and setprofile engines: module and
 *                code decisions looked up in C, Python called only for frames of matched code.
 *   Monitor      sys.monitoring callbacks in C: lookups in C, the frame read with PyEval_GetFrame
 *                (no sys._getframe, which raises an audit event), Python called for matched code only.
 *   EvalFrame    (Python 3.11, _evalframe.c) the interpreter's frame-evaluation hook (PEP 523): matched
 *                code recorded around the default evaluator, everything else passed straight through.
 *
 * Errors: an Exception raised by the Python side is handed to its fault callback and never reaches
 * the user's code; a BaseException that is not an Exception (KeyboardInterrupt from the user's own
 * signal handler, SystemExit) is let through, as the pure-Python twins do with `except Exception`.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* The parts that read the interpreter's own structures (the thread state's frame chain, its trace
 * function, a code object's fields) are compiled only for the minor versions they were written and
 * tested for; on any other Python the module is built without them and autoprov uses their pure
 * twins (INTERNALS is False, and --debug engine says so).  AUTOPROV_FORCE_UNKNOWN_PYTHON builds
 * as for an unknown version (tests/test_native_guard.py). */
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000 && !defined(AUTOPROV_FORCE_UNKNOWN_PYTHON)
#define AUTOPROV_KNOWN_PYTHON 1
#endif

#if PY_VERSION_HEX >= 0x030D0000
#define CURRENT_TSTATE() PyThreadState_GetUnchecked()
#else
#define CURRENT_TSTATE() _PyThreadState_UncheckedGet()
#endif

/* Borrowed code and globals of a frame, without the `object.__getattr__` audit event that reading
 * frame.f_code raises in Python on 3.11-3.13. */
static inline PyCodeObject *
frame_code(PyFrameObject *frame)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyCodeObject *code = PyFrame_GetCode(frame);
    Py_DECREF(code); /* the frame holds it */
    return code;
#else
    return frame->f_code;
#endif
}

static inline PyObject *
frame_globals(PyFrameObject *frame)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *globals = PyFrame_GetGlobals(frame);
    Py_DECREF(globals); /* the frame holds it */
    return globals;
#else
    return frame->f_globals;
#endif
}

/* Call a Python callable with 2 or 3 positional arguments without building a tuple. */
static inline PyObject *
call2(PyObject *callable, PyObject *a, PyObject *b)
{
    PyObject *args[2] = {a, b};
    return PyObject_Vectorcall(callable, args, 2, NULL);
}

static inline PyObject *
call3(PyObject *callable, PyObject *a, PyObject *b, PyObject *c)
{
    PyObject *args[3] = {a, b, c};
    return PyObject_Vectorcall(callable, args, 3, NULL);
}

/* Hand an Exception in flight to fault(component, error); let other BaseExceptions through.
 * Returns 0 when the error was absorbed, -1 when it must propagate (still set). */
static int
absorb_error(PyObject *fault, const char *component)
{
    if (!PyErr_ExceptionMatches(PyExc_Exception)) {
        return -1;
    }
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (fault != NULL && value != NULL) {
        PyObject *result = PyObject_CallFunction(fault, "sO", component, value);
        if (result == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_Exception)) {
                Py_XDECREF(type);
                Py_XDECREF(value);
                Py_XDECREF(traceback);
                return -1;
            }
            PyErr_Clear();
        }
        Py_XDECREF(result);
    }
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(traceback);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Audit hook
 * ------------------------------------------------------------------------------------------- */

#define MAX_AUDIT_EVENTS 64

static int audit_installed = 0;
static PyInterpreterState *audit_interpreter = NULL; /* the interpreter that installed the hook */
static PyObject *audit_handler = NULL;              /* callable(event, args) or NULL (idle) */
static int audit_count = 0;
static char *audit_names[MAX_AUDIT_EVENTS];
static PyObject *audit_strings[MAX_AUDIT_EVENTS];  /* the same names as str, passed to Python */

/* Events known not to be watched, answered before any other work.  CPython passes the same
 * `const char *` literal for an event every time, so the slot is chosen by the pointer; the slot
 * holds the name's first 8 bytes (and a mask for names shorter than 8), and a hit compares the
 * event's first 8 bytes with them, so an answer never rests on an address being reused for the
 * same name (sys.audit() from Python passes a str's buffer, which is freed and reused).  A name is
 * cached only when no watched name shares those bytes: then equal bytes prove "not watched". */
#define IGNORED_SLOTS 256 /* a power of two; a gammapy analysis raises ~30 distinct events */
typedef struct {
    uint64_t mask;
    uint64_t word;  /* 1 in an empty or changing slot (mask 0 there): no event name starts with byte 0x01 */
} IgnoredEvent;
static IgnoredEvent audit_ignored[IGNORED_SLOTS];

static inline size_t
ignored_slot(const char *event)
{
    return (size_t)((uintptr_t)event >> 3) & (IGNORED_SLOTS - 1);
}

/* The name's first bytes up to 8 (with its NUL when shorter), and the mask of those bytes. */
static void
name_prefix(const char *name, uint64_t *word, uint64_t *mask)
{
    size_t length = strlen(name) + 1;
    size_t count = length < 8 ? length : 8;
    uint64_t w = 0, m = 0;
    memcpy(&w, name, count);
    memset(&m, 0xff, count);
    *word = w;
    *mask = m;
}

static void
remember_ignored(const char *event)
{
    uint64_t word, mask;
    name_prefix(event, &word, &mask);
    for (int i = 0; i < audit_count; i++) {
        uint64_t other, other_mask;
        name_prefix(audit_names[i], &other, &other_mask);
        if ((other & mask) == word) {
            return; /* a watched name starts with the same bytes: always compared in full */
        }
    }
    IgnoredEvent *slot = &audit_ignored[ignored_slot(event)];
    slot->word = 1; /* never a half-written pair that matches */
    slot->mask = mask;
    slot->word = word;
}

#if defined(__GNUC__) || defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* Out of line, so that audit_hook's common path saves no registers. */
static NOINLINE int
audit_watched(const char *event, PyObject *args)
{
    PyObject *handler = audit_handler;
    for (int i = 0; i < audit_count; i++) {
        const char *name = audit_names[i];
        if (name[0] != event[0] || strcmp(name, event) != 0) {
            continue;
        }
        if (handler == NULL) {
            return 0;
        }
        PyThreadState *tstate = CURRENT_TSTATE();
        if (tstate == NULL || PyThreadState_GetInterpreter(tstate) != audit_interpreter) {
            return 0; /* another sub-interpreter: its objects are not ours to touch */
        }
        Py_INCREF(handler);
        PyObject *result = call2(handler, audit_strings[i], args);
        Py_DECREF(handler);
        if (result == NULL) {
            /* the handler reports its own faults; whatever still escapes it is dropped,
             * except the user's KeyboardInterrupt / SystemExit */
            if (PyErr_ExceptionMatches(PyExc_Exception)) {
                PyErr_Clear();
                return 0;
            }
            return -1;
        }
        Py_DECREF(result);
        return 0;
    }
    remember_ignored(event);
    return 0;
}

static int
audit_hook(const char *event, PyObject *args, void *unused)
{
    /* Cost: 12 instructions (callgrind, 3.12, gcc -O2) for an event seen before that is not watched,
     * ~99.9 % of a gammapy analysis's events (builtins.id, object.__getattr__): a slot chosen by the
     * pointer, then its first 8 bytes compared (read in one load when they lie in the same 4 KiB
     * page, which holds the name's first byte). */
    const IgnoredEvent *slot = &audit_ignored[ignored_slot(event)];
    if (((uintptr_t)event & 4095) <= 4096 - 8) {
        uint64_t head;
        memcpy(&head, event, 8);
        if ((head & slot->mask) == slot->word) {
            return 0;
        }
    }
    return audit_watched(event, args);
}

static PyObject *
audit_install(PyObject *module, PyObject *names)
{
    if (audit_installed) {
        Py_RETURN_FALSE;
    }
    PyObject *sequence = PySequence_Fast(names, "audit_install() needs a sequence of event names");
    if (sequence == NULL) {
        return NULL;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(sequence);
    if (count > MAX_AUDIT_EVENTS) {
        Py_DECREF(sequence);
        PyErr_Format(PyExc_ValueError, "at most %d audit event names", MAX_AUDIT_EVENTS);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *name = PySequence_Fast_GET_ITEM(sequence, i);
        const char *text = PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
        if (text == NULL || text[0] == '\0') {
            Py_DECREF(sequence);
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError, "audit event names must be non-empty str");
            }
            return NULL;
        }
        audit_names[i] = strdup(text);
        if (audit_names[i] == NULL) {
            Py_DECREF(sequence);
            return PyErr_NoMemory();
        }
        Py_INCREF(name);
        audit_strings[i] = name;
    }
    audit_count = (int)count;
    Py_DECREF(sequence);
    for (int i = 0; i < IGNORED_SLOTS; i++) {
        audit_ignored[i].word = 1;
    }
    audit_interpreter = PyInterpreterState_Get();
    if (PySys_AddAuditHook(audit_hook, NULL) < 0) {
        return NULL;
    }
    audit_installed = 1;
    Py_RETURN_TRUE;
}

static PyObject *
audit_route(PyObject *module, PyObject *handler)
{
    PyObject *previous = audit_handler;
    if (handler == Py_None) {
        audit_handler = NULL;
    }
    else {
        Py_INCREF(handler);
        audit_handler = handler;
    }
    Py_XDECREF(previous);
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------------------------------------
 * CodeMap: code object -> plan by identity (open addressing, linear probing, strong references)
 * ------------------------------------------------------------------------------------------- */

typedef struct {
    PyObject *key;
    PyObject *value;
} Slot;

typedef struct {
    PyObject_HEAD
    Slot *slots;
    Py_ssize_t capacity; /* a power of two */
    Py_ssize_t used;
} CodeMap;

static PyTypeObject CodeMap_Type;

static inline size_t
slot_index(PyObject *key, Py_ssize_t capacity)
{
    uint64_t bits = (uint64_t)(uintptr_t)key;
    return (size_t)((bits * 0x9E3779B97F4A7C15ull) >> 17) & (size_t)(capacity - 1);
}

/* Borrowed value for key, or NULL (no exception) when absent. */
static inline PyObject *
codemap_lookup(CodeMap *map, PyObject *key)
{
    size_t mask = (size_t)map->capacity - 1;
    for (size_t i = slot_index(key, map->capacity);; i = (i + 1) & mask) {
        PyObject *found = map->slots[i].key;
        if (found == key) {
            return map->slots[i].value;
        }
        if (found == NULL) {
            return NULL;
        }
    }
}

static int
codemap_grow(CodeMap *map)
{
    Py_ssize_t capacity = map->capacity * 2;
    Slot *slots = PyMem_Calloc((size_t)capacity, sizeof(Slot));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t j = 0; j < map->capacity; j++) {
        PyObject *key = map->slots[j].key;
        if (key == NULL) {
            continue;
        }
        size_t i = slot_index(key, capacity);
        while (slots[i].key != NULL) {
            i = (i + 1) & (size_t)(capacity - 1);
        }
        slots[i] = map->slots[j];
    }
    PyMem_Free(map->slots);
    map->slots = slots;
    map->capacity = capacity;
    return 0;
}

static int
codemap_store(CodeMap *map, PyObject *key, PyObject *value)
{
    if ((map->used + 1) * 2 > map->capacity && codemap_grow(map) < 0) {
        return -1;
    }
    size_t mask = (size_t)map->capacity - 1;
    size_t i = slot_index(key, map->capacity);
    while (map->slots[i].key != NULL && map->slots[i].key != key) {
        i = (i + 1) & mask;
    }
    Py_INCREF(value);
    if (map->slots[i].key == key) {
        Py_SETREF(map->slots[i].value, value);
        return 0;
    }
    Py_INCREF(key);
    map->slots[i].key = key;
    map->slots[i].value = value;
    map->used++;
    return 0;
}

static void
codemap_release(CodeMap *map)
{
    if (map->slots == NULL) {
        return;
    }
    for (Py_ssize_t i = 0; i < map->capacity; i++) {
        Py_CLEAR(map->slots[i].key);
        Py_CLEAR(map->slots[i].value);
    }
    map->used = 0;
}

static PyObject *
CodeMap_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if ((kwargs != NULL && PyDict_GET_SIZE(kwargs) > 0) || !PyArg_ParseTuple(args, ":CodeMap")) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "CodeMap() takes no arguments");
        }
        return NULL;
    }
    CodeMap *map = (CodeMap *)type->tp_alloc(type, 0);
    if (map == NULL) {
        return NULL;
    }
    map->capacity = 1024;
    map->slots = PyMem_Calloc((size_t)map->capacity, sizeof(Slot));
    if (map->slots == NULL) {
        Py_DECREF(map);
        return PyErr_NoMemory();
    }
    return (PyObject *)map;
}

static int
CodeMap_traverse(CodeMap *map, visitproc visit, void *arg)
{
    for (Py_ssize_t i = 0; map->slots != NULL && i < map->capacity; i++) {
        Py_VISIT(map->slots[i].key);
        Py_VISIT(map->slots[i].value);
    }
    return 0;
}

static int
CodeMap_clear_refs(CodeMap *map)
{
    codemap_release(map);
    return 0;
}

static void
CodeMap_dealloc(CodeMap *map)
{
    PyObject_GC_UnTrack(map);
    codemap_release(map);
    PyMem_Free(map->slots);
    Py_TYPE(map)->tp_free((PyObject *)map);
}

static PyObject *
CodeMap_get(CodeMap *map, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "get(code, default=None)");
        return NULL;
    }
    PyObject *value = codemap_lookup(map, args[0]);
    if (value == NULL) {
        value = nargs == 2 ? args[1] : Py_None;
    }
    Py_INCREF(value);
    return value;
}

static PyObject *
CodeMap_clear(CodeMap *map, PyObject *unused)
{
    codemap_release(map);
    Py_RETURN_NONE;
}

static Py_ssize_t
CodeMap_length(CodeMap *map)
{
    return map->used;
}

static PyObject *
CodeMap_subscript(CodeMap *map, PyObject *key)
{
    PyObject *value = codemap_lookup(map, key);
    if (value == NULL) {
        PyErr_SetObject(PyExc_KeyError, key);
        return NULL;
    }
    Py_INCREF(value);
    return value;
}

static int
CodeMap_ass_subscript(CodeMap *map, PyObject *key, PyObject *value)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_TypeError, "CodeMap entries cannot be deleted");
        return -1;
    }
    return codemap_store(map, key, value);
}

static int
CodeMap_contains(CodeMap *map, PyObject *key)
{
    return codemap_lookup(map, key) != NULL;
}

static PyMethodDef CodeMap_methods[] = {
    {"get", (PyCFunction)(void (*)(void))CodeMap_get, METH_FASTCALL, "get(code, default=None): the plan of this very code object"},
    {"clear", (PyCFunction)CodeMap_clear, METH_NOARGS, "forget every entry"},
    {NULL},
};

static PyMappingMethods CodeMap_mapping = {
    .mp_length = (lenfunc)CodeMap_length,
    .mp_subscript = (binaryfunc)CodeMap_subscript,
    .mp_ass_subscript = (objobjargproc)CodeMap_ass_subscript,
};

static PySequenceMethods CodeMap_sequence = {
    .sq_contains = (objobjproc)CodeMap_contains,
};

static PyTypeObject CodeMap_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "autoprov._native.CodeMap",
    .tp_doc = "Code object -> plan, by identity; keeps both alive so an identity is never reused while cached.",
    .tp_basicsize = sizeof(CodeMap),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = CodeMap_new,
    .tp_dealloc = (destructor)CodeMap_dealloc,
    .tp_traverse = (traverseproc)CodeMap_traverse,
    .tp_clear = (inquiry)CodeMap_clear_refs,
    .tp_methods = CodeMap_methods,
    .tp_as_mapping = &CodeMap_mapping,
    .tp_as_sequence = &CodeMap_sequence,
};

/* ---------------------------------------------------------------------------------------------
 * Shared decision: is this frame (its module, then its code object) an activity?
 * ------------------------------------------------------------------------------------------- */

typedef struct {
    PyObject *modules;         /* dict: module name -> bool (may any function of it be an activity?) */
    CodeMap *plans;            /* code -> plan or None */
    PyObject *decide_module;   /* callable(frame) -> bool, caches into modules (and plans) */
    PyObject *decide_code;     /* callable(code, globals) -> plan or None, caches into plans */
    PyObject *fault;           /* callable(component, error) */
    PyObject *prefixes;        /* tuple of str every module with an activity starts with, or NULL: any */
    int nested_never;          /* the matcher never selects code whose qualified name has a '<' */
} Decisions;

/* 1 when the module name starts with one of the prefixes (or there is no prefix list). */
static int
may_have_activities(Decisions *d, PyObject *name)
{
    if (d->prefixes == NULL) {
        return 1;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(d->prefixes);
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t found = PyUnicode_Tailmatch(name, PyTuple_GET_ITEM(d->prefixes, i), 0, PY_SSIZE_T_MAX, -1);
        if (found != 0) {
            return (int)found; /* 1, or -1 on error */
        }
    }
    return 0;
}

#ifdef AUTOPROV_KNOWN_PYTHON
/* 1 when the code object can be no activity whatever the filters say: a module or class body (the
 * planner's CO_OPTIMIZED test), or, with a matcher that says so, a lambda, comprehension or nested
 * function (a '<' in its qualified name).  The twin of Planner.plan's and FilterMatcher.matches'
 * first tests, read from the code object's fields. */
static int
never_an_activity(Decisions *d, PyCodeObject *code)
{
    if (!(code->co_flags & CO_OPTIMIZED)) {
        return 1;
    }
    PyObject *qualname = code->co_qualname;
    return d->nested_never && PyUnicode_Check(qualname)
           && PyUnicode_FindChar(qualname, '<', 0, PyUnicode_GET_LENGTH(qualname), 1) >= 0;
}
#endif

static PyObject *str_name; /* "__name__" */

/* The plan of code run with these globals (borrowed), Py_None when it is not an activity, NULL
 * with an exception set when Python failed.  *module_false is set when the whole module is
 * skipped.  The frame object decide_module needs comes from frame_of(source) (borrowed), asked
 * only then: the evalframe engine makes none for the frames it passes through. */
static PyObject *
decide_code(Decisions *d, PyObject *globals, PyCodeObject *code, int *module_false, PyObject *(*frame_of)(void *),
            void *source)
{
    *module_false = 0;
    PyObject *plan = codemap_lookup(d->plans, (PyObject *)code);
    if (plan != NULL) {
        return plan;
    }
    PyObject *name = PyDict_Check(globals) ? PyDict_GetItemWithError(globals, str_name) : NULL;
    if (name == NULL && PyErr_Occurred()) {
        return NULL;
    }
    if (name == NULL || !PyUnicode_Check(name)) {
        /* code run with globals that name no module (exec, generated functions): never an
         * activity, as FrameDecisions.module_decision decides, without calling it each time */
        *module_false = 1;
        return Py_None;
    }
    PyObject *known = PyDict_GetItemWithError(d->modules, name);
    if (known == NULL && PyErr_Occurred()) {
        return NULL;
    }
    if (known == Py_False) {
        *module_false = 1;
        return Py_None;
    }
    if (known == NULL && PyUnicode_CheckExact(name)) {
        /* Cost: one prefix test per module seen (~2,400 in a gammapy analysis); a module that no
         * include entry can name is rejected here instead of by a Python call (~120,000
         * instructions each) */
        int may = may_have_activities(d, name);
        if (may <= 0) {
            if (may < 0 || PyDict_SetItem(d->modules, name, Py_False) < 0) {
                return NULL;
            }
            *module_false = 1;
            return Py_None;
        }
    }
    if (known == NULL) {
        PyObject *frame = frame_of(source);
        if (frame == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_RuntimeError, "no frame object for a module decision");
            }
            return NULL;
        }
        PyObject *decision = PyObject_CallOneArg(d->decide_module, frame);
        if (decision == NULL) {
            return NULL;
        }
        int truth = PyObject_IsTrue(decision);
        Py_DECREF(decision);
        if (truth <= 0) {
            *module_false = truth == 0;
            return truth < 0 ? NULL : Py_None;
        }
        plan = codemap_lookup(d->plans, (PyObject *)code); /* the module scan may have decided it */
        if (plan != NULL) {
            return plan;
        }
    }
#ifdef AUTOPROV_KNOWN_PYTHON
    if (never_an_activity(d, code)) {
        return codemap_store(d->plans, (PyObject *)code, Py_None) < 0 ? NULL : Py_None;
    }
#endif
    PyObject *decided = call2(d->decide_code, (PyObject *)code, globals);
    if (decided == NULL) {
        return NULL;
    }
    Py_DECREF(decided); /* decide_code stored it in plans, which keeps it alive */
    plan = codemap_lookup(d->plans, (PyObject *)code);
    return plan != NULL ? plan : Py_None;
}

static PyObject *
frame_itself(void *frame)
{
    return (PyObject *)frame;
}

/* decide_code for a frame object's code and globals. */
static PyObject *
decide_frame(Decisions *d, PyFrameObject *frame, PyCodeObject *code, int *module_false)
{
    return decide_code(d, frame_globals(frame), code, module_false, frame_itself, frame);
}

static int
decisions_init(Decisions *d, PyObject *modules, PyObject *plans, PyObject *decide_module, PyObject *decide_code,
               PyObject *fault, PyObject *prefixes, int nested_never)
{
    if (!PyDict_Check(modules) || !PyObject_TypeCheck(plans, &CodeMap_Type)) {
        PyErr_SetString(PyExc_TypeError, "modules must be a dict and plans a CodeMap");
        return -1;
    }
    if (prefixes != NULL && prefixes != Py_None) {
        if (!PyTuple_Check(prefixes)) {
            PyErr_SetString(PyExc_TypeError, "prefixes must be a tuple of str or None");
            return -1;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(prefixes); i++) {
            if (!PyUnicode_Check(PyTuple_GET_ITEM(prefixes, i))) {
                PyErr_SetString(PyExc_TypeError, "prefixes must be a tuple of str or None");
                return -1;
            }
        }
        d->prefixes = Py_NewRef(prefixes);
    }
    d->nested_never = nested_never;
    d->modules = Py_NewRef(modules);
    d->plans = (CodeMap *)Py_NewRef(plans);
    d->decide_module = Py_NewRef(decide_module);
    d->decide_code = Py_NewRef(decide_code);
    d->fault = Py_NewRef(fault);
    return 0;
}

static int
decisions_traverse(Decisions *d, visitproc visit, void *arg)
{
    Py_VISIT(d->modules);
    Py_VISIT((PyObject *)d->plans);
    Py_VISIT(d->decide_module);
    Py_VISIT(d->decide_code);
    Py_VISIT(d->fault);
    Py_VISIT(d->prefixes);
    return 0;
}

static void
decisions_clear(Decisions *d)
{
    Py_CLEAR(d->modules);
    Py_CLEAR(d->plans);
    Py_CLEAR(d->decide_module);
    Py_CLEAR(d->decide_code);
    Py_CLEAR(d->fault);
    Py_CLEAR(d->prefixes);
}

/* ---------------------------------------------------------------------------------------------
 * FrameTracer: the C trace (or profile) function of the settrace / setprofile engines
 * ------------------------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    Decisions d;
    PyObject *started;   /* callable(plan, frame, arg): a matched frame starts or resumes */
    PyObject *returned;  /* callable(frame, value, unwinding): a matched frame returns, yields or unwinds */
    PyObject *errors;    /* dict: matched frame -> exception in flight (trace mode) */
    PyObject *handled;   /* set: frames of errors in which a line ran since */
    int profile;         /* installed with PyEval_SetProfile, not PyEval_SetTrace */
    int visible;         /* sys.gettrace()/getprofile() return this object (else None) */
    int stopped;
} FrameTracer;

static PyTypeObject FrameTracer_Type;
static FrameTracer *active_tracer = NULL; /* strong reference; the trace functions read it */

static int frame_trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg);

static void
tracer_install_here(FrameTracer *self, int on)
{
    PyObject *obj = on && self->visible ? (PyObject *)self : NULL;
    Py_tracefunc func = on ? frame_trace : NULL;
    if (self->profile) {
        PyEval_SetProfile(func, obj);
    }
    else {
        PyEval_SetTrace(func, obj);
    }
}

static int frame_event(FrameTracer *self, PyFrameObject *frame, int what, PyObject *arg);

static int
frame_trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    /* the tracer stays alive while this thread runs Python code from it, even if another thread
     * starts a new capture meanwhile (which drops active_tracer's reference) */
    FrameTracer *self = active_tracer;
    if (self == NULL) {
        return 0;
    }
    if (what == PyTrace_LINE && PyDict_GET_SIZE(self->errors) == 0) {
        return 0; /* the common event, no reference needed */
    }
    Py_INCREF(self);
    int result = frame_event(self, frame, what, arg);
    Py_DECREF(self);
    return result;
}

static int
frame_event(FrameTracer *self, PyFrameObject *frame, int what, PyObject *arg)
{
    /* Cost: every event of every Python frame of the thread.  Line, opcode and C-call events return
     * at once; a 'call' of a frame in a module without activities costs one globals read and two
     * dict lookups; returns and exceptions of unmatched code one pointer-hash lookup. */
    if (self->stopped) {
        tracer_install_here(self, 0); /* a thread meeting its first event since stop() */
        return 0;
    }
    PyObject *result;
    if (what == PyTrace_CALL) {
        int module_false;
        PyCodeObject *code = frame_code(frame);
        PyObject *plan = decide_frame(&self->d, frame, code, &module_false);
        if (plan == NULL) {
            return absorb_error(self->d.fault, "engine");
        }
        if (plan == Py_None) {
            return 0;
        }
        result = call3(self->started, plan, (PyObject *)frame, arg != NULL ? arg : Py_None);
    }
    else if (what == PyTrace_RETURN) {
        PyObject *plan = codemap_lookup(self->d.plans, (PyObject *)frame_code(frame));
        if (plan == NULL || plan == Py_None) {
            return 0;
        }
        /* arg is NULL when an exception unwinds the frame before 3.12; 3.12's legacy tracing passes
         * None for both, and then Python tells them apart (unwinding passed as None: unknown) */
        PyObject *unwinding = arg == NULL ? Py_True : (PY_VERSION_HEX >= 0x030C0000 ? Py_None : Py_False);
        result = call3(self->returned, (PyObject *)frame, arg != NULL ? arg : Py_None, unwinding);
    }
    else if (what == PyTrace_EXCEPTION) {
        PyObject *plan = codemap_lookup(self->d.plans, (PyObject *)frame_code(frame));
        if (plan == NULL || plan == Py_None || !PyTuple_Check(arg) || PyTuple_GET_SIZE(arg) < 2) {
            return 0;
        }
        if (PyDict_SetItem(self->errors, (PyObject *)frame, PyTuple_GET_ITEM(arg, 1)) < 0
            || PySet_Discard(self->handled, (PyObject *)frame) < 0) {
            return absorb_error(self->d.fault, "engine");
        }
        return 0;
    }
    else if (what == PyTrace_LINE && PyDict_GET_SIZE(self->errors) > 0) {
        /* a line runs in a frame with an exception noted: it was handled (3.12 needs to know at
         * a generator's yield, see FrameDecisions.returned) */
        int noted = PyDict_Contains(self->errors, (PyObject *)frame);
        if (noted > 0 && PySet_Add(self->handled, (PyObject *)frame) < 0) {
            return absorb_error(self->d.fault, "engine");
        }
        return noted < 0 ? absorb_error(self->d.fault, "engine") : 0;
    }
    else {
        return 0;
    }
    if (result == NULL) {
        return absorb_error(self->d.fault, "engine");
    }
    Py_DECREF(result);
    return 0;
}

static PyObject *
FrameTracer_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"modules", "plans", "decide_module", "decide_code", "started", "returned", "errors",
                               "handled", "fault", "profile", "visible", "prefixes", "nested_never", NULL};
    PyObject *modules, *plans, *decide_module, *decide_code, *started, *returned, *errors, *handled, *fault;
    PyObject *prefixes = NULL;
    int profile = 0, visible = 1, nested_never = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOOOO!O!O|ppOp:FrameTracer", keywords, &modules, &plans,
                                     &decide_module, &decide_code, &started, &returned, &PyDict_Type, &errors,
                                     &PySet_Type, &handled, &fault, &profile, &visible, &prefixes, &nested_never)) {
        return NULL;
    }
    FrameTracer *self = (FrameTracer *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    if (decisions_init(&self->d, modules, plans, decide_module, decide_code, fault, prefixes, nested_never) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    self->started = Py_NewRef(started);
    self->returned = Py_NewRef(returned);
    self->errors = Py_NewRef(errors);
    self->handled = Py_NewRef(handled);
    self->profile = profile;
    self->visible = visible;
    self->stopped = 1;
    return (PyObject *)self;
}

static int
FrameTracer_traverse(FrameTracer *self, visitproc visit, void *arg)
{
    Py_VISIT(self->started);
    Py_VISIT(self->returned);
    Py_VISIT(self->errors);
    Py_VISIT(self->handled);
    return decisions_traverse(&self->d, visit, arg);
}

static int
FrameTracer_clear_refs(FrameTracer *self)
{
    Py_CLEAR(self->started);
    Py_CLEAR(self->returned);
    Py_CLEAR(self->errors);
    Py_CLEAR(self->handled);
    decisions_clear(&self->d);
    return 0;
}

static void
FrameTracer_dealloc(FrameTracer *self)
{
    PyObject_GC_UnTrack(self);
    FrameTracer_clear_refs(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
FrameTracer_start(FrameTracer *self, PyObject *unused)
{
    Py_INCREF(self);
    Py_XSETREF(active_tracer, self);
    self->stopped = 0;
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *obj = self->visible ? (PyObject *)self : NULL;
    if (self->profile) {
        PyEval_SetProfileAllThreads(frame_trace, obj);
    }
    else {
        PyEval_SetTraceAllThreads(frame_trace, obj);
    }
#else
    tracer_install_here(self, 1); /* other running threads are not reachable before 3.12 */
#endif
    Py_RETURN_NONE;
}

static PyObject *
FrameTracer_stop(FrameTracer *self, PyObject *unused)
{
    /* Threads that are not reachable from here (before 3.12) take the function off themselves
     * at their next event, seeing `stopped`. */
    self->stopped = 1;
#if PY_VERSION_HEX >= 0x030C0000
    if (self->profile) {
        PyEval_SetProfileAllThreads(NULL, NULL);
    }
    else {
        PyEval_SetTraceAllThreads(NULL, NULL);
    }
#else
    tracer_install_here(self, 0);
#endif
    Py_RETURN_NONE;
}

static PyObject *
FrameTracer_installed(FrameTracer *self, PyObject *unused)
{
#ifdef AUTOPROV_KNOWN_PYTHON
    PyThreadState *tstate = PyThreadState_Get();
    Py_tracefunc func = self->profile ? tstate->c_profilefunc : tstate->c_tracefunc;
    return PyBool_FromLong(func == frame_trace && active_tracer == self && !self->stopped);
#else
    /* the thread state's fields are not read on an unknown Python: whether the program replaced
     * the function is not seen */
    return PyBool_FromLong(active_tracer == self && !self->stopped);
#endif
}

/* Called as a Python trace/profile function: by threading.settrace()/setprofile() in a new thread,
 * or after the program restored sys.settrace(sys.gettrace()).  Take the thread over the C way,
 * then handle the event if it is a 'call' (the only one a trace trampoline passes on for frames
 * whose f_trace this tracer never sets). */
static PyObject *
FrameTracer_call(FrameTracer *self, PyObject *args, PyObject *kwargs)
{
    PyObject *frame, *event, *arg;
    if (!PyArg_ParseTuple(args, "O!UO:FrameTracer", &PyFrame_Type, &frame, &event, &arg)) {
        return NULL;
    }
    if (self->stopped || active_tracer != self) {
        Py_RETURN_NONE;
    }
    tracer_install_here(self, 1);
    if (PyUnicode_CompareWithASCIIString(event, "call") == 0
        && frame_trace((PyObject *)self, (PyFrameObject *)frame, PyTrace_CALL, arg) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef FrameTracer_methods[] = {
    {"start", (PyCFunction)FrameTracer_start, METH_NOARGS, "install on this thread (every running thread on 3.12+)"},
    {"stop", (PyCFunction)FrameTracer_stop, METH_NOARGS, "uninstall; threads not reachable uninstall at their next event"},
    {"installed", (PyCFunction)FrameTracer_installed, METH_NOARGS, "True while this tracer is this thread's trace/profile function"},
    {NULL},
};

static PyTypeObject FrameTracer_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "autoprov._native.FrameTracer",
    .tp_doc = "The C trace (or profile) function of autoprov's settrace / setprofile engines.",
    .tp_basicsize = sizeof(FrameTracer),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = FrameTracer_new,
    .tp_dealloc = (destructor)FrameTracer_dealloc,
    .tp_traverse = (traverseproc)FrameTracer_traverse,
    .tp_clear = (inquiry)FrameTracer_clear_refs,
    .tp_call = (ternaryfunc)FrameTracer_call,
    .tp_methods = FrameTracer_methods,
};

/* ---------------------------------------------------------------------------------------------
 * Monitor: sys.monitoring callbacks (Python >= 3.12)
 * ------------------------------------------------------------------------------------------- */

/* A thread inside a matched call that records no nested activity (`nested: false`, the gammapy
 * filter's default): the matched calls below it record nothing, so the native engines skip them in C
 * instead of calling Recorder.enter and .leave, which only pushed and popped a stack entry for each
 * (27,755 such calls on crab_1d, ~5 us each).  Generator code is left to Python: its frames can
 * outlive the call they started in. */
#define QUIET_THREADS 8
typedef struct {
    uint64_t thread;  /* PyThreadState_GetID() of the thread (ids are never reused); 0: free slot */
    PyObject *frame;  /* the non-nesting activity's frame (strong reference) */
    Py_ssize_t depth; /* matched frames started below it and skipped, not returned yet (monitoring) */
} Quiet;

typedef struct {
    int count; /* slots in use */
    Quiet slots[QUIET_THREADS];
} QuietThreads;

static int
quiet_traverse(QuietThreads *quiet, visitproc visit, void *arg)
{
    for (int i = 0; i < QUIET_THREADS; i++) {
        Py_VISIT(quiet->slots[i].frame);
    }
    return 0;
}

static void
quiet_clear(QuietThreads *quiet)
{
    for (int i = 0; i < QUIET_THREADS; i++) {
        quiet->slots[i].thread = 0;
        Py_CLEAR(quiet->slots[i].frame);
    }
    quiet->count = 0;
}

#ifdef AUTOPROV_KNOWN_PYTHON
#define CODE_GENERATOR_FLAGS (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR) /* also _evalframe.c's */

static inline uint64_t
this_thread(void)
{
    return PyThreadState_GetID(PyThreadState_Get());
}

/* This thread's slot, or NULL.  Cost: nothing while no thread is quiet, else a scan of the slots. */
static inline Quiet *
quiet_slot(QuietThreads *quiet, uint64_t thread)
{
    for (int i = 0, seen = 0; seen < quiet->count && i < QUIET_THREADS; i++) {
        if (quiet->slots[i].thread != 0) {
            if (quiet->slots[i].thread == thread) {
                return &quiet->slots[i];
            }
            seen++;
        }
    }
    return NULL;
}

static void
quiet_end(QuietThreads *quiet, Quiet *slot)
{
    slot->thread = 0;
    slot->depth = 0;
    Py_CLEAR(slot->frame);
    quiet->count--;
}

/* Recorder.enter answered True for this frame (not generator code): this thread is quiet below it. */
static void
quiet_begin(QuietThreads *quiet, uint64_t thread, PyObject *frame)
{
    Quiet *slot = quiet_slot(quiet, thread);
    if (slot != NULL) {
        quiet_end(quiet, slot);
    }
    for (int i = 0; i < QUIET_THREADS; i++) {
        if (quiet->slots[i].thread == 0) { /* else: more threads than slots, Python skips them as before */
            quiet->slots[i].thread = thread;
            quiet->slots[i].frame = Py_NewRef(frame);
            quiet->slots[i].depth = 0;
            quiet->count++;
            return;
        }
    }
}

static inline int
is_generator_code(PyObject *code)
{
    return (((PyCodeObject *)code)->co_flags & CODE_GENERATOR_FLAGS) != 0;
}

/* Monitoring: 1 when a matched frame of this code, starting or ending now, is below a quiet call
 * of its thread: skipped.  Its end is told from the quiet call's own by the frame and the depth. */
static inline int
quiet_skips(QuietThreads *quiet, PyObject *code, PyObject *frame, int starting)
{
    if (quiet->count == 0 || is_generator_code(code)) {
        return 0;
    }
    Quiet *slot = quiet_slot(quiet, this_thread());
    if (slot == NULL) {
        return 0;
    }
    if (starting) {
        slot->depth++;
        return 1;
    }
    if (slot->frame != frame && slot->depth > 0) {
        slot->depth--;
        return 1;
    }
    quiet_end(quiet, slot); /* the quiet call itself ends (or an end was missed): Python decides */
    return 0;
}
#endif

typedef struct {
    PyObject_HEAD
    Decisions d;
    PyObject *enter;    /* recorder.enter(plan, frame) -> True when nested matched calls record nothing */
    PyObject *leave;    /* recorder.leave(frame, value, error) */
    PyObject *suspend;  /* recorder.suspend(frame) */
    PyObject *resume;   /* recorder.resume(frame) */
    PyObject *disable;  /* sys.monitoring.DISABLE */
    QuietThreads quiet; /* threads inside a call that records no nested activity */
} Monitor;

static PyTypeObject Monitor_Type;

static PyObject *
Monitor_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"modules", "plans", "decide_module", "decide_code", "enter", "leave", "suspend", "resume",
                               "fault", "disable", "prefixes", "nested_never", NULL};
    PyObject *modules, *plans, *decide_module, *decide_code, *enter, *leave, *suspend, *resume, *fault, *disable;
    PyObject *prefixes = NULL;
    int nested_never = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOOOOOOO|Op:Monitor", keywords, &modules, &plans, &decide_module,
                                     &decide_code, &enter, &leave, &suspend, &resume, &fault, &disable, &prefixes,
                                     &nested_never)) {
        return NULL;
    }
    Monitor *self = (Monitor *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    if (decisions_init(&self->d, modules, plans, decide_module, decide_code, fault, prefixes, nested_never) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    self->enter = Py_NewRef(enter);
    self->leave = Py_NewRef(leave);
    self->suspend = Py_NewRef(suspend);
    self->resume = Py_NewRef(resume);
    self->disable = Py_NewRef(disable);
    return (PyObject *)self;
}

static int
Monitor_traverse(Monitor *self, visitproc visit, void *arg)
{
    Py_VISIT(self->enter);
    Py_VISIT(self->leave);
    Py_VISIT(self->suspend);
    Py_VISIT(self->resume);
    Py_VISIT(self->disable);
    int failed = quiet_traverse(&self->quiet, visit, arg);
    return failed ? failed : decisions_traverse(&self->d, visit, arg);
}

static int
Monitor_clear_refs(Monitor *self)
{
    quiet_clear(&self->quiet);
    Py_CLEAR(self->enter);
    Py_CLEAR(self->leave);
    Py_CLEAR(self->suspend);
    Py_CLEAR(self->resume);
    Py_CLEAR(self->disable);
    decisions_clear(&self->d);
    return 0;
}

static void
Monitor_dealloc(Monitor *self)
{
    PyObject_GC_UnTrack(self);
    Monitor_clear_refs(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* After a Python call: None, or NULL to propagate a BaseException that is not an Exception. */
static PyObject *
monitor_done(Monitor *self, PyObject *result)
{
    if (result == NULL) {
        return absorb_error(self->d.fault, "engine") < 0 ? NULL : Py_NewRef(Py_None);
    }
    Py_DECREF(result);
    Py_RETURN_NONE;
}

/* The matched frame an event is about, or NULL when the code is not an activity. */
static inline PyFrameObject *
matched_frame(Monitor *self, PyObject *code, PyObject **plan)
{
    *plan = codemap_lookup(self->d.plans, code);
    if (*plan == NULL || *plan == Py_None) {
        return NULL;
    }
    return PyEval_GetFrame();
}

static PyObject *
monitor_on_start(Monitor *self, PyObject *const *args, Py_ssize_t nargs)
{
    /* PY_START.  Cost: unmatched code runs this once per code object (then DISABLE); matched code
     * one pointer-hash lookup, then Recorder.enter. */
    PyFrameObject *frame = PyEval_GetFrame();
    if (nargs < 1 || frame == NULL) {
        Py_RETURN_NONE;
    }
    int module_false;
    PyObject *plan = decide_frame(&self->d, frame, (PyCodeObject *)args[0], &module_false);
    if (plan == NULL) {
        return monitor_done(self, NULL);
    }
    if (plan == Py_None) {
        return Py_NewRef(self->disable);
    }
#ifdef AUTOPROV_KNOWN_PYTHON
    if (quiet_skips(&self->quiet, args[0], (PyObject *)frame, 1)) {
        Py_RETURN_NONE;
    }
    PyObject *result = call2(self->enter, plan, (PyObject *)frame);
    if (result == Py_True && !is_generator_code(args[0])) {
        quiet_begin(&self->quiet, this_thread(), (PyObject *)frame);
    }
    return monitor_done(self, result);
#else
    return monitor_done(self, call2(self->enter, plan, (PyObject *)frame));
#endif
}

static PyObject *
monitor_on_return(Monitor *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *plan;
    PyFrameObject *frame = nargs == 3 ? matched_frame(self, args[0], &plan) : NULL;
    if (frame == NULL) {
        Py_RETURN_NONE;
    }
#ifdef AUTOPROV_KNOWN_PYTHON
    if (quiet_skips(&self->quiet, args[0], (PyObject *)frame, 0)) {
        Py_RETURN_NONE;
    }
#endif
    return monitor_done(self, call3(self->leave, (PyObject *)frame, args[2], Py_None));
}

static PyObject *
monitor_on_unwind(Monitor *self, PyObject *const *args, Py_ssize_t nargs)
{
    /* PY_UNWIND is global: one lookup for every frame an exception leaves. */
    PyObject *plan;
    PyFrameObject *frame = nargs == 3 ? matched_frame(self, args[0], &plan) : NULL;
    if (frame == NULL) {
        Py_RETURN_NONE;
    }
#ifdef AUTOPROV_KNOWN_PYTHON
    if (quiet_skips(&self->quiet, args[0], (PyObject *)frame, 0)) {
        Py_RETURN_NONE;
    }
#endif
    return monitor_done(self, call3(self->leave, (PyObject *)frame, Py_None, args[2]));
}

static PyObject *
monitor_on_yield(Monitor *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *plan;
    PyFrameObject *frame = nargs >= 1 ? matched_frame(self, args[0], &plan) : NULL;
    if (frame == NULL) {
        Py_RETURN_NONE;
    }
    return monitor_done(self, PyObject_CallOneArg(self->suspend, (PyObject *)frame));
}

static PyObject *
monitor_on_resume(Monitor *self, PyObject *const *args, Py_ssize_t nargs)
{
    /* PY_RESUME (local) and PY_THROW (global: generators resumed by throw() or close()). */
    PyObject *plan;
    PyFrameObject *frame = nargs >= 1 ? matched_frame(self, args[0], &plan) : NULL;
    if (frame == NULL) {
        Py_RETURN_NONE;
    }
    return monitor_done(self, PyObject_CallOneArg(self->resume, (PyObject *)frame));
}

/* sys.monitoring does not hold a reference to a callback while calling it: another thread's stop()
 * can unregister (and so free) the bound method, and the Monitor with it, while this thread is in
 * Python code called from here.  Each callback keeps its Monitor alive for its own duration. */
#define KEEP_ALIVE(name)                                                                   \
    static PyObject *Monitor_##name(Monitor *self, PyObject *const *args, Py_ssize_t nargs) \
    {                                                                                      \
        Py_INCREF(self);                                                                   \
        PyObject *result = monitor_##name(self, args, nargs);                              \
        Py_DECREF(self);                                                                   \
        return result;                                                                     \
    }
KEEP_ALIVE(on_start)
KEEP_ALIVE(on_return)
KEEP_ALIVE(on_unwind)
KEEP_ALIVE(on_yield)
KEEP_ALIVE(on_resume)

static PyMethodDef Monitor_methods[] = {
    {"on_start", (PyCFunction)(void (*)(void))Monitor_on_start, METH_FASTCALL, "PY_START callback"},
    {"on_return", (PyCFunction)(void (*)(void))Monitor_on_return, METH_FASTCALL, "PY_RETURN callback"},
    {"on_unwind", (PyCFunction)(void (*)(void))Monitor_on_unwind, METH_FASTCALL, "PY_UNWIND callback"},
    {"on_yield", (PyCFunction)(void (*)(void))Monitor_on_yield, METH_FASTCALL, "PY_YIELD callback"},
    {"on_resume", (PyCFunction)(void (*)(void))Monitor_on_resume, METH_FASTCALL, "PY_RESUME and PY_THROW callback"},
    {NULL},
};

static PyTypeObject Monitor_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "autoprov._native.Monitor",
    .tp_doc = "sys.monitoring callbacks of autoprov's monitoring engine, in C.",
    .tp_basicsize = sizeof(Monitor),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = Monitor_new,
    .tp_dealloc = (destructor)Monitor_dealloc,
    .tp_traverse = (traverseproc)Monitor_traverse,
    .tp_clear = (inquiry)Monitor_clear_refs,
    .tp_methods = Monitor_methods,
};

/* ---------------------------------------------------------------------------------------------
 * Scalar parameters of a matched call (Python >= 3.12)
 * ------------------------------------------------------------------------------------------- */

static PyObject *str_values; /* "values" */

/* 1 when redact_text(text) is text whatever the text holds (autoprov/redaction.py, its first test):
 * under 4 characters, or, with no value rule in rules["values"], under 16 letters and digits (no
 * mark of a credential, too short for a token).  0 when redact_text must look, -1 on error. */

static int
plain_text(PyObject *rules, PyObject *text)
{
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    if (length < 4) {
        return 1;
    }
    if (length >= 16) {
        return 0;
    }
    PyObject *values = PyDict_GetItemWithError(rules, str_values);
    if (values == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    if (!PyUnicode_Check(values) || PyUnicode_GET_LENGTH(values) != 0) {
        return 0;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t index = 0; index < length; index++) {
        if (!Py_UNICODE_ISALNUM(PyUnicode_READ(kind, data, index))) { /* str.isalnum() */
            return 0;
        }
    }
    return 1;
}

/* scalar_parameters(redact, rules, max_string, frame, names): the twin of
 * autoprov.recorder.arguments.scalar_parameters.  {name: value} when every argument named is an
 * int, bool, None, finite float or str of at most max_string characters (each str passed through
 * redact unless plain_text() says it would come back unchanged), else None.  Each value is read
 * with PyFrame_GetVar, so frame.f_locals (a dict of every local, kept on the frame) is never
 * built.  Measured with three scalars: 0.15 us against 0.55-0.7 us for f_locals and the Python
 * loop of the pure twin; calling redact from here costs 0.1 us per string, hence plain_text(). */
#if PY_VERSION_HEX >= 0x030C0000
static PyObject *
scalar_parameters(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyDict_Check(args[1]) || !PyLong_Check(args[2]) || !PyFrame_Check(args[3]) || !PyTuple_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "scalar_parameters(redact, rules, max_string, frame, names): a dict, an int, a frame, a tuple");
        return NULL;
    }
    PyObject *redact = args[0], *rules = args[1], *names = args[4];
    PyFrameObject *frame = (PyFrameObject *)args[3];
    Py_ssize_t max_string = PyLong_AsSsize_t(args[2]);
    if (max_string == -1 && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *params = PyDict_New();
    if (params == NULL) {
        return NULL;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(names);
    for (Py_ssize_t index = 0; index < count; index++) {
        PyObject *name = PyTuple_GET_ITEM(names, index);
        PyObject *value = PyFrame_GetVar(frame, name);
        if (value == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_NameError)) {
                goto fail;
            }
            PyErr_Clear(); /* unbound: the general path decides */
            goto not_scalar;
        }
        PyTypeObject *type = Py_TYPE(value);
        if (type == &PyUnicode_Type && PyUnicode_GET_LENGTH(value) <= max_string) {
            int plain = plain_text(rules, value);
            if (plain < 0) {
                Py_DECREF(value);
                goto fail;
            }
            if (!plain) {
                Py_SETREF(value, PyObject_CallOneArg(redact, value));
                if (value == NULL) {
                    goto fail;
                }
            }
        }
        else if (!(type == &PyLong_Type || type == &PyBool_Type || value == Py_None
                   || (type == &PyFloat_Type && isfinite(PyFloat_AS_DOUBLE(value))))) {
            Py_DECREF(value);
            goto not_scalar;
        }
        int failed = PyDict_SetItem(params, name, value);
        Py_DECREF(value);
        if (failed < 0) {
            goto fail;
        }
    }
    return params;
not_scalar:
    Py_DECREF(params);
    Py_RETURN_NONE;
fail:
    Py_DECREF(params);
    return NULL;
}
#endif

/* ---------------------------------------------------------------------------------------------
 * The program's module frame, with no Python frame below it
 * ------------------------------------------------------------------------------------------- */

/* exec_as_main(code, globals): run the program's code as python runs a script, as the bottom frame
 * of the thread's Python stack.  The runner's frames (and runpy's) stay on the C stack but are
 * unlinked from the frame chain for the duration, so whatever walks the stack from the program sees
 * what it sees under plain python: `warnings.warn(stacklevel=2)` at module level names `sys:1`,
 * `sys._getframe(1)` raises, `inspect.stack()` and `traceback.print_stack()` end at the script.
 * Tracebacks are unaffected (they record the frames an exception leaves, not the chain).  The
 * chain's head is a field of the public cpython/pystate.h structures; it is restored on every exit. */
#ifdef AUTOPROV_KNOWN_PYTHON
static PyObject *
exec_as_main(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyCode_Check(args[0]) || !PyDict_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "exec_as_main(code, globals): a code object and a dict");
        return NULL;
    }
    PyThreadState *tstate = PyThreadState_Get();
#if PY_VERSION_HEX >= 0x030D0000
    struct _PyInterpreterFrame *below = tstate->current_frame;
    tstate->current_frame = NULL;
    PyObject *result = PyEval_EvalCode(args[0], args[1], args[1]);
    tstate->current_frame = below;
#else
    _PyCFrame *cframe = tstate->cframe;
    struct _PyInterpreterFrame *below = cframe->current_frame;
    cframe->current_frame = NULL;
    PyObject *result = PyEval_EvalCode(args[0], args[1], args[1]);
    cframe->current_frame = below;
#endif
    return result;
}
#endif

/* The frame-evaluation engine (PEP 523), Python 3.11 only: _evalframe.c. */
#if defined(AUTOPROV_KNOWN_PYTHON) && PY_VERSION_HEX < 0x030C0000
#define AUTOPROV_EVALFRAME 1
#include "_evalframe.c"
#endif

/* ---------------------------------------------------------------------------------------------
 * Module
 * ------------------------------------------------------------------------------------------- */

/* call_soon(callable): run callable from a pending call, when the main thread next checks its eval
 * breaker.  The log's thread restarts this way after os.fork() in the parent: Python 3.13 counts
 * the process's threads for its "multi-threaded fork" warning after the after_in_parent hooks have
 * run, so a thread started there would be counted (log/writer.py).  The callable's errors are
 * dropped: a pending call's exception would surface in whatever code the program is running. */
static int
run_pending(void *callable)
{
    PyObject *result = PyObject_CallNoArgs((PyObject *)callable);
    Py_DECREF((PyObject *)callable);
    if (result == NULL) {
        PyErr_Clear();
    }
    Py_XDECREF(result);
    return 0;
}

static PyObject *
call_soon(PyObject *Py_UNUSED(module), PyObject *callable)
{
    if (Py_AddPendingCall(run_pending, Py_NewRef(callable)) < 0) {  /* the queue is full */
        Py_DECREF(callable);
        Py_RETURN_FALSE;
    }
    Py_RETURN_TRUE;
}

/* frame_generator(frame): the generator or coroutine that owns the frame, or None.  Public API
 * since 3.11 (no interpreter internals): the recorder watches the generators of suspended matched
 * frames, which 3.13 may close without any event (recorder/closes.py). */
static PyObject *
frame_generator(PyObject *Py_UNUSED(module), PyObject *frame)
{
    if (!PyFrame_Check(frame)) {
        PyErr_SetString(PyExc_TypeError, "frame_generator() expects a frame");
        return NULL;
    }
    PyObject *generator = PyFrame_GetGenerator((PyFrameObject *)frame);
    return generator != NULL ? generator : Py_NewRef(Py_None);
}

/* identity(obj): id(obj), without the "builtins.id" audit event id() raises.  Each event costs
 * every audit hook of the process a call: with a Python hook installed (filelock installs one when
 * gammapy's dependencies import it) ~3,500 instructions an event, and a module scan asks for the
 * identity of each of the module's globals (13,275 calls on crab_1d, ~47 M instructions). */
static PyObject *
identity(PyObject *Py_UNUSED(module), PyObject *obj)
{
    return PyLong_FromVoidPtr(obj);
}

/* compile_script(source, filename): the program's code object, compiled as `compile(source, filename,
 * "exec", dont_inherit=True)` compiles it (the same flags and call), without compile()'s check for a
 * syntax-tree argument: its first use builds CPython's `_ast` types, ~11 M instructions (~3 ms) of
 * start-up that `python script.py` never pays.  Public API: compiled on every Python. */
static PyObject *
compile_script(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyBytes_Check(args[0]) || !PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "compile_script(source, filename): bytes and a str");
        return NULL;
    }
    if (memchr(PyBytes_AS_STRING(args[0]), 0, (size_t)PyBytes_GET_SIZE(args[0])) != NULL) {
        /* compile() itself says it, in each version's words and type (rare: the runner checks first) */
        PyObject *builtins = PyEval_GetBuiltins(); /* borrowed */
        PyObject *compile = builtins != NULL ? PyDict_GetItemString(builtins, "compile") : NULL;
        if (compile == NULL) {
            PyErr_SetString(PyExc_SyntaxError, "source code string cannot contain null bytes");
            return NULL;
        }
        return PyObject_CallFunction(compile, "OOsii", args[0], args[1], "exec", 0, 1);
    }
    PyCompilerFlags flags = _PyCompilerFlags_INIT;
    flags.cf_flags = PyCF_SOURCE_IS_UTF8; /* what compile() adds to the caller's flags */
    return Py_CompileStringObject(PyBytes_AS_STRING(args[0]), args[1], Py_file_input, &flags, -1);
}

static PyMethodDef module_methods[] = {
    {"audit_install", audit_install, METH_O,
     "audit_install(names): install the process audit hook once, passing only these events on (False if already installed)"},
    {"audit_route", audit_route, METH_O, "audit_route(handler or None): where file events go (None: nowhere)"},
    {"call_soon", call_soon, METH_O, "call_soon(callable): call it from a pending call (False if the queue is full)"},
    {"frame_generator", frame_generator, METH_O, "frame_generator(frame): the generator that owns it, or None"},
    {"identity", identity, METH_O, "identity(obj): id(obj) without the builtins.id audit event"},
    {"compile_script", (PyCFunction)(void (*)(void))compile_script, METH_FASTCALL,
     "compile_script(source, filename): compile(source, filename, 'exec', dont_inherit=True), without building the _ast types"},
#if PY_VERSION_HEX >= 0x030C0000
    {"scalar_parameters", (PyCFunction)(void (*)(void))scalar_parameters, METH_FASTCALL,
     "scalar_parameters(redact, rules, max_string, frame, names): {name: value} of plain scalar arguments, else None"},
#endif
#ifdef AUTOPROV_EVALFRAME
    {"evalframe_free", evalframe_hook_free, METH_NOARGS,
     "evalframe_free(): True when the interpreter runs the default frame evaluator (no other tool's PEP 523 hook)"},
#endif
#ifdef AUTOPROV_KNOWN_PYTHON
    {"exec_as_main", (PyCFunction)(void (*)(void))exec_as_main, METH_FASTCALL,
     "exec_as_main(code, globals): run code as the bottom frame of this thread's Python stack"},
#endif
    {NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "autoprov._native",
    .m_doc = "autoprov's native core: audit hook, code-identity plan map, C trace and monitoring callbacks.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    str_name = PyUnicode_InternFromString("__name__");
    str_values = PyUnicode_InternFromString("values");
    if (str_name == NULL || str_values == NULL || PyType_Ready(&CodeMap_Type) < 0 || PyType_Ready(&FrameTracer_Type) < 0
        || PyType_Ready(&Monitor_Type) < 0) {
        return NULL;
    }
#ifdef AUTOPROV_EVALFRAME
    if (PyType_Ready(&EvalFrame_Type) < 0) {
        return NULL;
    }
#endif
    PyObject *module = PyModule_Create(&native_module);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddObject(module, "CodeMap", Py_NewRef(&CodeMap_Type)) < 0
        || PyModule_AddObject(module, "FrameTracer", Py_NewRef(&FrameTracer_Type)) < 0
        || PyModule_AddObject(module, "Monitor", Py_NewRef(&Monitor_Type)) < 0
#ifdef AUTOPROV_EVALFRAME
        || PyModule_AddObject(module, "EvalFrame", Py_NewRef(&EvalFrame_Type)) < 0
#endif
#ifdef AUTOPROV_KNOWN_PYTHON
        || PyModule_AddObject(module, "INTERNALS", Py_NewRef(Py_True)) < 0
#else
        || PyModule_AddObject(module, "INTERNALS", Py_NewRef(Py_False)) < 0
#endif
        ) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
