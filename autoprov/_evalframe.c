/* EvalFrame: autoprov's frame-evaluation engine (PEP 523) for Python 3.11, part of autoprov._native.
 *
 * Included by _native.c (it shares Decisions, decide_code, CodeMap and absorb_error) and compiled
 * only for Python 3.11, whose interpreter frame it reads (internal/pycore_frame.h).  The hook is the
 * interpreter's eval-frame function, so it sees every frame of every thread (a call, or a resume of
 * a generator or coroutine: throwflag set for throw() and close()) before it runs and after it
 * stops.  A code object is decided once per capture (the decisions of the other engines, Python
 * called once per module and per candidate code object); the answer is kept in the code object's
 * co_extra slot, so a frame of code that is not an activity costs one tagged-word comparison
 * before the default evaluator runs it.  Frames of matched code get a frame object (none is made
 * for the others) and the recorder's enter/resume before, leave/suspend after the evaluator.
 *
 * Measured need: on 3.11 the settrace engine costs ~1.9x CPU on a gammapy analysis, and any trace
 * function at least ~1.57x (the interpreter's tracing mode on every instruction).
 */
#include <internal/pycore_frame.h>

/* The layout of a code object's co_extra block (Objects/codeobject.c, private): read directly on
 * the hot path instead of calling _PyCode_GetExtra. */
typedef struct {
    Py_ssize_t ce_size;
    void *ce_extras[1];
} CodeExtra;

typedef struct {
    PyObject_HEAD
    Decisions d;
    PyObject *enter;    /* recorder.enter(plan, frame) */
    PyObject *leave;    /* recorder.leave(frame, value, error) */
    PyObject *suspend;  /* recorder.suspend(frame) */
    PyObject *resume;   /* recorder.resume(frame) -> bool */
    int installed;
    QuietThreads quiet; /* threads evaluating a call that records no nested activity */
} EvalFrame;

static PyTypeObject EvalFrame_Type;

static EvalFrame *active_evalframe = NULL;      /* strong reference while installed */
static PyInterpreterState *evalframe_interp = NULL;
static _PyFrameEvalFunction evalframe_next = NULL;   /* the evaluator the hook calls: the one it replaced */
static Py_ssize_t extra_index = -1;                  /* our co_extra slot, requested once per process */
/* co_extra words of the current capture: `skip_word` for code that is no activity, `match_word`
 * for code with a plan; a new pair per capture, so a code object decided by an earlier capture is
 * decided again.  0 (no word yet) is neither. */
static uintptr_t skip_word = 0, match_word = 0, capture_serial = 0;


static inline uintptr_t
code_word(PyCodeObject *code)
{
    CodeExtra *extra = (CodeExtra *)code->co_extra;
    return extra != NULL && extra->ce_size > extra_index ? (uintptr_t)extra->ce_extras[extra_index] : 0;
}

/* The frame object of an interpreter frame about to be evaluated (borrowed), made if it has none.
 * CPython makes frame objects only for frames on the thread's frame chain that have run their
 * first instruction, so the frame is linked in front of the chain for the call, marked as past
 * its prologue (MAKE_CELL/COPY_FREE_VARS, which read nothing a frame object needs; f_locals copes
 * with them not having run), and put back.  f_back is then the caller, as the evaluator links it. */
static PyFrameObject *
frame_object(PyThreadState *tstate, _PyInterpreterFrame *frame)
{
    if (frame->frame_obj != NULL) {
        return frame->frame_obj;
    }
    _PyCFrame *cframe = tstate->cframe;
    _PyInterpreterFrame *caller = cframe->current_frame;
    _Py_CODEUNIT *prev_instr = frame->prev_instr;
    _Py_CODEUNIT *first = _PyCode_CODE(frame->f_code) + frame->f_code->_co_firsttraceable;
    frame->previous = caller;
    if (frame->owner != FRAME_OWNED_BY_GENERATOR && prev_instr < first) {
        frame->prev_instr = first;
    }
    cframe->current_frame = frame;
    PyFrameObject *made = PyEval_GetFrame();
    cframe->current_frame = caller;
    frame->prev_instr = prev_instr;
    return made == NULL || made->f_frame != frame ? NULL : made;
}

typedef struct {
    PyThreadState *tstate;
    _PyInterpreterFrame *frame;
} FrameSource;

static PyObject *
frame_of_source(void *source)
{
    FrameSource *s = (FrameSource *)source;
    return (PyObject *)frame_object(s->tstate, s->frame);
}

/* Decide a code object seen for the first time in this capture and note the answer in its
 * co_extra slot.  Returns the plan (borrowed), Py_None, or NULL with an exception set. */
static PyObject *
evalframe_decide(EvalFrame *self, PyThreadState *tstate, _PyInterpreterFrame *frame)
{
    PyCodeObject *code = frame->f_code;
    FrameSource source = {tstate, frame};
    int module_false;
    PyObject *plan = decide_code(&self->d, frame->f_globals, code, &module_false, frame_of_source, &source);
    if (plan == NULL) {
        return NULL;
    }
    if (_PyCode_SetExtra((PyObject *)code, extra_index, (void *)(plan == Py_None ? skip_word : match_word)) < 0) {
        return NULL;
    }
    return plan;
}

/* Call a recorder callback on a matched frame with the thread's exception (a throw() in, or an
 * exception unwinding the frame) put aside and restored after.  Returns 0, or -1 with a
 * BaseException that is not an Exception set (KeyboardInterrupt in the callback). */
static int
deliver(EvalFrame *self, PyThreadState *tstate, PyObject *callable, PyObject *const *args, Py_ssize_t nargs,
        PyObject **answer)
{
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    tstate->tracing++;
    PyObject *result = PyObject_Vectorcall(callable, args, nargs, NULL);
    tstate->tracing--;
    if (result == NULL && absorb_error(self->d.fault, "engine") < 0) {
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(traceback);
        return -1;
    }
    PyErr_Restore(type, value, traceback);
    if (answer != NULL) {
        *answer = result;
    }
    else {
        Py_XDECREF(result);
    }
    return 0;
}

static PyObject *evalframe_matched(EvalFrame *self, PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag,
                                   PyObject *plan);

/* Out of line, so that the hook's common path saves no registers. */
static NOINLINE PyObject *
evalframe_first_sight(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag)
{
    EvalFrame *self = active_evalframe;
    /* tracing: autoprov's own Python code deciding or recording a frame (or another tool's trace
     * function) runs unseen, as trace functions do; no recursion into the decisions */
    if (self == NULL || !self->installed || tstate->tracing || tstate->interp != evalframe_interp) {
        return evalframe_next(tstate, frame, throwflag);
    }
    if ((frame->f_code->co_flags & CODE_GENERATOR_FLAGS) && frame->owner != FRAME_OWNED_BY_GENERATOR) {
        /* a generator function's call runs only RETURN_GENERATOR, which moves the frame into the new
         * generator (and must find no frame object on it): the code is decided, and the activity
         * begins, at the generator's first resume, as under the trace engines */
        return evalframe_next(tstate, frame, throwflag);
    }
    Py_INCREF(self); /* alive while Python runs from here, even if another thread stops the capture */
    PyObject *plan;
    if (code_word(frame->f_code) == match_word) {
        plan = codemap_lookup(self->d.plans, (PyObject *)frame->f_code);
    }
    else {
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback); /* throw() into code never seen */
        tstate->tracing++;
        plan = evalframe_decide(self, tstate, frame);
        tstate->tracing--;
        if (plan == NULL) {
            if (absorb_error(self->d.fault, "engine") < 0) {
                Py_XDECREF(type);
                Py_XDECREF(value);
                Py_XDECREF(traceback);
                Py_DECREF(self);
                return NULL;
            }
        }
        PyErr_Restore(type, value, traceback);
    }
    PyObject *result;
    if (plan == NULL || plan == Py_None || !self->installed) { /* installed: a stop() while Python decided */
        result = evalframe_next(tstate, frame, throwflag);
    }
    else if (self->quiet.count && !(frame->f_code->co_flags & CODE_GENERATOR_FLAGS)
             && quiet_slot(&self->quiet, PyThreadState_GetID(tstate)) != NULL) {
        result = evalframe_next(tstate, frame, throwflag); /* below a quiet call: nothing to record */
    }
    else {
        result = evalframe_matched(self, tstate, frame, throwflag, plan);
    }
    Py_DECREF(self);
    return result;
}

static PyObject *
evalframe_matched(EvalFrame *self, PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag, PyObject *plan)
{
    tstate->tracing++; /* a collection while the frame object is made may run Python code */
    PyFrameObject *frame_obj = frame_object(tstate, frame);
    tstate->tracing--;
    if (frame_obj == NULL) {
        return evalframe_next(tstate, frame, throwflag);
    }
    Py_INCREF(frame_obj);
    int generator = frame->owner == FRAME_OWNED_BY_GENERATOR;
    PyGenObject *gen = generator ? _PyFrame_GetGenerator(frame) : NULL;
    PyObject *args[3] = {plan, (PyObject *)frame_obj, NULL};
    int failed = 0;
    if (gen != NULL && gen->gi_frame_state != FRAME_CREATED) {
        /* a resume (throwflag: by throw() or close()); a generator running since before the
         * capture is entered here */
        PyObject *resumed = NULL;
        failed = deliver(self, tstate, self->resume, args + 1, 1, &resumed);
        if (!failed && resumed == Py_False) {
            failed = deliver(self, tstate, self->enter, args, 2, NULL);
        }
        Py_XDECREF(resumed);
    }
    else {
        PyObject *answer = NULL;
        failed = deliver(self, tstate, self->enter, args, 2, &answer);
        if (answer == Py_True && !(frame->f_code->co_flags & CODE_GENERATOR_FLAGS)) {
            quiet_begin(&self->quiet, PyThreadState_GetID(tstate), (PyObject *)frame_obj);
        }
        Py_XDECREF(answer);
    }
    if (failed) {
        Py_DECREF(frame_obj);
        return NULL; /* the frame never ran: the KeyboardInterrupt is raised at the call */
    }
    PyObject *result = evalframe_next(tstate, frame, throwflag);
    if (self->quiet.count) { /* the quiet call this frame began (if it did) ends with its evaluation */
        Quiet *slot = quiet_slot(&self->quiet, PyThreadState_GetID(tstate));
        if (slot != NULL && slot->frame == (PyObject *)frame_obj) {
            quiet_end(&self->quiet, slot);
        }
    }
    if (self->installed) {
        if (result != NULL && gen != NULL && gen->gi_frame_state == FRAME_SUSPENDED) {
            failed = deliver(self, tstate, self->suspend, args + 1, 1, NULL);
        }
        else if (result != NULL) {
            PyObject *leave_args[3] = {(PyObject *)frame_obj, result, Py_None};
            failed = deliver(self, tstate, self->leave, leave_args, 3, NULL);
        }
        else {
            PyObject *type, *value, *traceback;
            PyErr_Fetch(&type, &value, &traceback);
            PyErr_NormalizeException(&type, &value, &traceback);
            PyErr_Restore(type, value, traceback);
            PyObject *leave_args[3] = {(PyObject *)frame_obj, Py_None, value != NULL ? value : Py_None};
            Py_XINCREF(value);
            failed = deliver(self, tstate, self->leave, leave_args, 3, NULL);
            Py_XDECREF(value);
        }
    }
    Py_DECREF(frame_obj);
    if (failed) {
        Py_XDECREF(result); /* a KeyboardInterrupt in the recorder replaces the frame's outcome */
        return NULL;
    }
    return result;
}

static PyObject *
evalframe_hook(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag)
{
    /* Cost: every frame evaluation of every thread (calls, and generator resumes).  A frame of code
     * decided not to be an activity in this capture: one co_extra read and comparison, then the
     * evaluator.  Everything else goes out of line. */
    if (code_word(frame->f_code) == skip_word) {
        return evalframe_next(tstate, frame, throwflag);
    }
    return evalframe_first_sight(tstate, frame, throwflag);
}

static PyObject *
EvalFrame_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"modules", "plans", "decide_module", "decide_code", "enter", "leave", "suspend", "resume",
                               "fault", "prefixes", "nested_never", NULL};
    PyObject *modules, *plans, *decide_module, *decide_code, *enter, *leave, *suspend, *resume, *fault;
    PyObject *prefixes = NULL;
    int nested_never = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOOOOOO|Op:EvalFrame", keywords, &modules, &plans, &decide_module,
                                     &decide_code, &enter, &leave, &suspend, &resume, &fault, &prefixes, &nested_never)) {
        return NULL;
    }
    EvalFrame *self = (EvalFrame *)type->tp_alloc(type, 0);
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
    return (PyObject *)self;
}

static int
EvalFrame_traverse(EvalFrame *self, visitproc visit, void *arg)
{
    Py_VISIT(self->enter);
    Py_VISIT(self->leave);
    Py_VISIT(self->suspend);
    Py_VISIT(self->resume);
    int failed = quiet_traverse(&self->quiet, visit, arg);
    return failed ? failed : decisions_traverse(&self->d, visit, arg);
}

static int
EvalFrame_clear_refs(EvalFrame *self)
{
    Py_CLEAR(self->enter);
    Py_CLEAR(self->leave);
    Py_CLEAR(self->suspend);
    Py_CLEAR(self->resume);
    quiet_clear(&self->quiet);
    decisions_clear(&self->d);
    return 0;
}

static void
EvalFrame_dealloc(EvalFrame *self)
{
    PyObject_GC_UnTrack(self);
    EvalFrame_clear_refs(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The interpreter's eval-frame function is free for autoprov: the default one, or autoprov's own
 * hook left by nobody (never: stop() restores what it replaced). */
static int
evalframe_free(PyInterpreterState *interp)
{
    return _PyInterpreterState_GetEvalFrameFunc(interp) == _PyEval_EvalFrameDefault;
}

static PyObject *
EvalFrame_start(EvalFrame *self, PyObject *unused)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    if (active_evalframe != NULL || !evalframe_free(interp)) {
        PyErr_SetString(PyExc_RuntimeError, "the interpreter's frame-evaluation function is already taken");
        return NULL;
    }
    if (extra_index < 0) {
        extra_index = _PyEval_RequestCodeExtraIndex(NULL);
        if (extra_index < 0) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_RuntimeError, "no free co_extra index for the frame-evaluation hook");
            }
            return NULL;
        }
    }
    capture_serial++;
    skip_word = capture_serial * 2;
    match_word = capture_serial * 2 + 1;
    evalframe_interp = interp;
    evalframe_next = _PyInterpreterState_GetEvalFrameFunc(interp);
    active_evalframe = (EvalFrame *)Py_NewRef(self);
    self->installed = 1;
    _PyInterpreterState_SetEvalFrameFunc(interp, evalframe_hook);
    Py_RETURN_NONE;
}

static PyObject *
EvalFrame_stop(EvalFrame *self, PyObject *unused)
{
    /* Frames evaluated through the hook finish after this without calling the recorder. */
    if (active_evalframe != self) {
        Py_RETURN_NONE;
    }
    self->installed = 0;
    if (_PyInterpreterState_GetEvalFrameFunc(evalframe_interp) == evalframe_hook) {
        _PyInterpreterState_SetEvalFrameFunc(evalframe_interp, evalframe_next);
    }
    skip_word = match_word = 0;
    Py_CLEAR(active_evalframe);
    Py_RETURN_NONE;
}

static PyObject *
EvalFrame_installed(EvalFrame *self, PyObject *unused)
{
    return PyBool_FromLong(active_evalframe == self && self->installed
                           && _PyInterpreterState_GetEvalFrameFunc(PyInterpreterState_Get()) == evalframe_hook);
}

static PyObject *
evalframe_hook_free(PyObject *module, PyObject *unused)
{
    return PyBool_FromLong(evalframe_free(PyInterpreterState_Get()));
}

static PyMethodDef EvalFrame_methods[] = {
    {"start", (PyCFunction)EvalFrame_start, METH_NOARGS, "install the eval-frame hook (RuntimeError if it is taken)"},
    {"stop", (PyCFunction)EvalFrame_stop, METH_NOARGS, "restore the eval-frame function it replaced"},
    {"installed", (PyCFunction)EvalFrame_installed, METH_NOARGS, "True while this hook is the interpreter's eval-frame function"},
    {NULL},
};

static PyTypeObject EvalFrame_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "autoprov._native.EvalFrame",
    .tp_doc = "The frame-evaluation hook (PEP 523) of autoprov's evalframe engine (Python 3.11).",
    .tp_basicsize = sizeof(EvalFrame),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = EvalFrame_new,
    .tp_dealloc = (destructor)EvalFrame_dealloc,
    .tp_traverse = (traverseproc)EvalFrame_traverse,
    .tp_clear = (inquiry)EvalFrame_clear_refs,
    .tp_methods = EvalFrame_methods,
};
