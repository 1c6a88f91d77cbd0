/* Bare mechanisms for the benchmark floors: what the interpreter charges before any autoprov code.
 *
 *   audit()     a C audit hook that returns at once for every event (CPython still builds the
 *               argument tuple of every event once any hook exists)
 *   settrace()  an empty C trace function (PyEval_SetTrace) on this and every later thread
 *
 * Built by benchmarks/floors/build.py into the benchmark's scratch folder; never installed.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static int
audit_hook(const char *event, PyObject *args, void *data)
{
    return 0;
}

static int
empty_trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    return 0;
}

static PyObject *
audit(PyObject *module, PyObject *unused)
{
    if (PySys_AddAuditHook(audit_hook, NULL) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Called as a Python trace function in a new thread (threading.settrace): go C there too. */
static PyObject *
bootstrap(PyObject *module, PyObject *args)
{
    PyEval_SetTrace(empty_trace, NULL);
    Py_RETURN_NONE;
}

static PyObject *
settrace(PyObject *module, PyObject *unused)
{
    PyEval_SetTrace(empty_trace, NULL);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"audit", audit, METH_NOARGS, "install a C audit hook that returns at once"},
    {"settrace", settrace, METH_NOARGS, "install an empty C trace function on this thread"},
    {"bootstrap", bootstrap, METH_VARARGS, "threading.settrace() target: the empty C trace function in a new thread"},
    {NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_floors", "benchmark floors", -1, methods};

PyMODINIT_FUNC
PyInit__floors(void)
{
    return PyModule_Create(&module);
}
