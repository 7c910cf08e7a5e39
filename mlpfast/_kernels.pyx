# cython: language_level=3, cdivision=True
# boundscheck, wraparound and initializedcheck are set in setup.py (off; on in
# the MLPFAST_DEBUG=1 build): directives written here would override setup.py's.
"""Compiled forward pass, backward pass and training epoch of an MLP.

Layout conventions (see mlpfast._network.NetworkLayout): all weights and
biases live in one flat vector; layer ``l`` has its weight matrix, row-major
of shape ``(units[l], units[l + 1])``, at ``coef_offsets[l]`` and its bias
vector at ``intercept_offsets[l]``.  Gradients and optimizer moments are flat
vectors of the same layout, so an optimizer step is one loop over all
parameters.

The input X is either a C-contiguous array or a CSR matrix whose
``indices``/``indptr`` are intp arrays and whose structure the caller has
validated (mlpfast._inputs.kernel_matrix); only the first layer's products
differ.

Every ``def`` function checks the shapes of what it is given before any
unchecked (nogil) code runs; the ``cdef`` functions below them trust their
arguments.

Design
------
Data path of one training batch (``train_epoch`` -> ``train_batches``)::

    sample order --gather_rows--> batch X, Y (or read in place)
    forward_layers:  z = a @ W + b (BLAS, _blas.pxd), a = f(z) in place
                     (bias_activation, src_c/elementwise_impl.h); with
                     Dropout, the next layer reads a times its mask
                     (drop_units)
    add_chunk_gradient: output delta and loss (loss_and_output_delta),
                     grad W = a^T delta, grad b = sum(delta), delta @ W^T,
                     times the mask and f' (multiply_derivative), layer by
                     layer
    clip_gradient:   with max_grad_norm only: the norm of the finished
                     gradient, a pass of its own before the step
    step_range:      L2 term, mean over the batch's weight sum, weight
                     decay and the optimizer step, fused over the flat
                     vector (StepState)

A batch is cut into the call's n_parts parts (BatchParts; fewer for a
batch of fewer than n_parts * PART_MIN_ROWS rows), run on the threads of
a ThreadTeam when train_epoch gets one, one after the other when not:
the result depends on n_parts, never on the threads.  Each part has a
gradient of its own; the step adds them up range by range (ParamRange),
each thread its range of the flat vector.

How to add
- an element-wise kernel: its body once in src_c/elementwise_impl.h
  (double and float come from the two inclusions in elementwise.c), its
  declaration in src_c/mlpfast_elementwise.h, one entry of KERNELS in
  _elementwise.pxd.tp (the fused wrapper is generated); mark IN/OUT.
- an activation or a loss: one line of the table in src_c/mlpfast_tables.h,
  its kernels in elementwise_impl.h (forward_NAME and derivative_NAME;
  loss_term_NAME and loss_scale_NAME), one entry in mlpfast/_activations.py.
  A line without its kernels does not build; the two tables are checked
  against each other at import and by tests/test_tables.py.
- a training feature: what happens between epochs goes in
  mlpfast/_training.py; what happens per batch (a new optimizer rule, a
  gradient transform) in step_range and the C step functions, its settings
  in StepState, built by the optimizer classes of mlpfast/_solvers.py.
"""
from cpython.exc cimport PyErr_CheckSignals
from libc.math cimport pow, sqrt
from libc.stdint cimport uint64_t, uintptr_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset

import numpy as np

cimport numpy as cnp

cnp.import_array()

from cython cimport floating

from mlpfast._blas cimport (
    add_matmul_transposed_a, dot, matmul, matmul_transposed_a, matmul_transposed_b,
)
from mlpfast._elementwise cimport (
    adam_finish_update, all_finite, bias_activation, column_sums, divide, dropout_backward,
    dropout_forward, finish_weight_gradient, finished_gradient_squares, loss_and_output_delta,
    mlpf_adam_step, mlpf_dropout_draw, mlpf_dropout_draw_for, mlpf_flush_subnormals_begin,
    mlpf_flush_subnormals_end, mlpf_run_update, mlpf_sgd_step, multiply_derivative,
    row_times_matrix, sgd_finish_update, transpose, vector_sum,
)
from mlpfast._sparse cimport SparseRows, sparse_matmul, sparse_transposed_matmul


cdef extern from "mlpfast_team.h" nogil:
    ctypedef void (*mlpf_part_fn)(void *context, int part) noexcept nogil
    ctypedef struct mlpf_team:
        pass
    mlpf_team *mlpf_team_start(int n_helpers)
    int mlpf_team_helpers(const mlpf_team *team)
    void mlpf_team_run(mlpf_team *team, mlpf_part_fn fn, void *context, int n_parts)
    void mlpf_team_run_brief(mlpf_team *team, mlpf_part_fn fn, void *context, int n_parts)
    void mlpf_team_stop(mlpf_team *team)

ctypedef Py_ssize_t intp_t

cdef extern from "mlpfast_tables.h" nogil:
    enum:
        MLPF_N_ACTIVATIONS
        MLPF_N_LOSSES
        MLPF_HIDDEN
    const char *mlpf_activation_names[]
    const int mlpf_activation_roles[]
    const int mlpf_activation_keeps_derivative[]
    const char *mlpf_loss_names[]
    const int mlpf_loss_outputs[]
    const int mlpf_loss_is_default[]
    const int mlpf_loss_has_parameter[]


def activation_table():
    """The activations the kernels know (src_c/mlpfast_tables.h), in code order.

    Returns
    -------
    table : list of tuple (name, code, hidden, keeps_derivative)
        ``hidden``: a hidden layer may use it; ``keeps_derivative``: its
        forward pass keeps f'(z) for the backward pass, which cannot work
        from the activation alone.
    """
    return [
        (mlpf_activation_names[code].decode("ascii"), code,
         bool(mlpf_activation_roles[code] & MLPF_HIDDEN),
         bool(mlpf_activation_keeps_derivative[code]))
        for code in range(MLPF_N_ACTIVATIONS)
    ]


def loss_table():
    """The losses the kernels know (src_c/mlpfast_tables.h), in code order.

    Returns
    -------
    table : list of tuple (name, code, output_activation, is_default, has_parameter)
        ``output_activation``: the name of the output activation the loss
        goes with; ``is_default``: the loss is the one a Network with that
        output activation trains with when given no loss; ``has_parameter``:
        the loss takes Network's ``loss_parameter``.
    """
    return [
        (mlpf_loss_names[code].decode("ascii"), code,
         mlpf_activation_names[mlpf_loss_outputs[code]].decode("ascii"),
         bool(mlpf_loss_is_default[code]), bool(mlpf_loss_has_parameter[code]))
        for code in range(MLPF_N_LOSSES)
    ]


cdef extern from "mlpfast_simd.h" nogil:
    const char *mlpf_simd_name(int path)
    int mlpf_simd_active()


def simd_path():
    """The SIMD path the element-wise kernels run on in this process.

    The path is chosen once per process, at the first kernel call (this
    call makes it if none came before): the best one this build has and
    this CPU runs, or a lower one named by the environment variable
    ``MLPFAST_SIMD`` (src_c/simd.c).

    Returns
    -------
    name : {"baseline", "avx2", "avx512"}
        ``"baseline"`` is SSE2 on x86-64, the target's default elsewhere.
    """
    return mlpf_simd_name(mlpf_simd_active()).decode("ascii")


# Codes by name, read once from the C tables: the only way a name becomes a
# code, so every code a kernel receives is in its table.
HIDDEN_ACTIVATION_CODES = {name: code for name, code, hidden, _ in activation_table() if hidden}
ACTIVATION_CODES = {name: code for name, code, _, _ in activation_table()}
# The loss table's entries by name.
LOSS_ENTRIES = {entry[0]: entry for entry in loss_table()}
# The loss a Network trains with when given none, by output activation
# (mlpfast._activations checks that each output activation has exactly one).
DEFAULT_LOSS_OF_OUTPUT = {output: name for name, _, output, is_default, _ in loss_table()
                          if is_default}

# Limits the Python layer reads too (mlpfast._checks, mlpfast._threads),
# hence exported (cpdef) under the same names.
cpdef enum:
    # Most rows per chunk in predict and in the full-data loss: bounds the
    # workspace, not the result.
    MAX_CHUNK_ROWS = 4096
    # BLAS takes 32-bit sizes.
    MAX_BLAS_INT = 2147483647
    # A mini-batch is cut into parts of at least this many rows (up to the
    # call's n_parts), whose gradients are then added: on the threads of a
    # ThreadTeam, or one after the other.  The cut depends on the batch and
    # n_parts alone, so a fit's result never depends on the threads.
    PART_MIN_ROWS = 32
    # The smallest batch that is cut (in two).
    SPLIT_MIN_ROWS = 2 * PART_MIN_ROWS
    # Most parts a call may cut batches into: each part beyond the first
    # keeps a gradient of the network's size.
    MAX_PARTS = 64
    # Fewest parameters per range of the step beyond two ranges: stepping
    # 8192 parameters takes several microseconds, longer than the threads'
    # meeting it would add (see step_ranges).
    MIN_RANGE_PARAMS = 8192

cdef enum:
    # Most workspace elements a chunk may take (64 Mi: 512 MiB in float64),
    # so that very wide layers get fewer rows per chunk, not a huge buffer.
    CHUNK_ELEMENTS = 1 << 26
    # Mini-batches between checks for Ctrl-C inside an epoch.
    SIGNAL_CHECK_BATCHES = 4
    # Backpropagation's delta @ W^T reaches BLAS as a product with its first
    # operand transposed.  OpenBLAS (SkylakeX kernels) packs small products of
    # that form, but sends the same product on a transposed copy of W to its
    # small-matrix kernels, which are faster there.  Up to this many
    # multiply-adds; above, both forms are packed and take the same time.
    TRANSPOSED_COPY_MAX_MACS = 1000000
    # Size of the weights from which a forward pass of one dense row splits a
    # layer's product in two (one_row_matmul): 131,072 weights in float32.
    # Below, the threads' meeting (about a microsecond) takes what the second
    # thread saves: one-row passes of 256 -> 256 -> 10 float32 took 3.5 us
    # with its layer split on two threads and 2.9 unsplit, 512 -> 256 -> 10
    # 5.1 either way, 784 -> 512 -> 10 12.8 against 19.9 (Intel Xeon,
    # AVX-512; bench/MEASUREMENTS.md, 'The helper's scratch on cache lines
    # of its own').
    SPLIT_MIN_BYTES = 1 << 19
    # Size of the weights from which a one-row pass leaves a layer's product
    # to BLAS, as before one_row_matmul: a matrix larger than one core's L2
    # (2 MiB here) streams from L3 or memory, on two threads with OpenBLAS,
    # whose threads stay awake for about 0.1 s after a call.  mlpfast's
    # helper sleeps after 0.2 ms, and on this virtual machine a woken
    # helper landed on the caller's core: calls a few milliseconds apart
    # ran both halves on one thread (784 -> 1024 -> 1024 -> 10 float32: 250
    # us, against 140 with OpenBLAS's threads).  Back to back, its halves
    # took 132 us against OpenBLAS's 152, alone 238 (Intel Xeon, AVX-512).
    ONE_ROW_BLAS_MIN_BYTES = 1 << 21
    # Bytes of a cache line: 64 on x86-64 and most arm64 cores.  Apple's have
    # 128-byte lines, where what is padded to 64 may still share one (slower
    # there, never wrong).
    CACHE_LINE_BYTES = 64

# scikit-learn's loss (numpy.average) raises this for weights summing to 0.
ZERO_WEIGHT_SUM_MESSAGE = "Weights sum to zero, can't be normalized"


cdef class ThreadTeam:
    """Helper threads for train_epoch and loss_gradient, kept across calls.

    Part 0 of each job runs on the calling thread, part i on helper i.
    Starting a thread and waking a sleeping one each cost about as much as
    computing a small batch part; helpers kept across calls are still
    polling when the next epoch begins.  Serves one kernel call at a time.
    If the threads cannot be started, calls run their parts on the calling
    thread (same result).

    Parameters
    ----------
    n_helpers : int, default=1
        Threads besides the caller's: a call with n_parts parts uses
        min(n_parts - 1, n_helpers) of them and runs the other parts on the
        caller's.
    """
    cdef mlpf_team *team
    cdef bint busy

    def __cinit__(self, int n_helpers=1):
        if not 1 <= n_helpers < MAX_PARTS:
            raise ValueError(f"n_helpers must be in [1, {MAX_PARTS - 1}], got {n_helpers}")
        self.team = mlpf_team_start(n_helpers)

    @property
    def n_helpers(self):
        """Helper threads running: 0 once closed, or when none could start."""
        return mlpf_team_helpers(self.team)

    cdef mlpf_team *acquire(self) except? NULL:
        if self.busy:
            raise RuntimeError("a ThreadTeam serves one kernel call at a time")
        self.busy = True
        return self.team

    cdef void release(self):
        self.busy = False

    def close(self):
        """End and join the threads; later calls run on the calling thread alone."""
        if self.busy:
            raise RuntimeError("cannot close a ThreadTeam during a kernel call")
        mlpf_team_stop(self.team)
        self.team = NULL

    def abandon(self):
        """Forget the threads without joining them: for a forked child process,
        which has the team's memory but not its threads."""
        self.team = NULL

    def __dealloc__(self):
        mlpf_team_stop(self.team)


cdef struct NetShape:
    Py_ssize_t n_layers          # number of weight layers
    const Py_ssize_t *units      # n_layers + 1 widths, input first
    const Py_ssize_t *coef_offset
    const Py_ssize_t *intercept_offset
    int hidden_activation
    int output_activation
    int loss
    double loss_parameter        # what loss_term_NAME reads (0 for losses without one)
    double alpha


cdef class Network:
    """The compiled view of a network: widths, offsets, activations, loss, alpha.

    Parameters
    ----------
    layout : mlpfast._network.NetworkLayout
        Layer widths and the offsets of each layer in the flat vector.
    hidden_activation : str
        An activation of the kernels' table with the hidden role.
    output_activation : str
        The output activation of one of the table's losses.
    alpha : float
        L2 penalty strength (scikit-learn's definition).
    loss : str or None, default=None
        A loss of the kernels' table that goes with ``output_activation``;
        None: that output activation's default loss (the table's
        ``is_default``).  Only training and the loss read it.
    loss_parameter : float or None, default=None
        The loss's parameter (Huber's delta), a positive number; given for
        exactly the losses the table says take one.
    """
    cdef NetShape shape
    cdef Py_ssize_t[::1] _units
    cdef Py_ssize_t[::1] _coef_offset
    cdef Py_ssize_t[::1] _intercept_offset
    cdef readonly Py_ssize_t n_params

    def __init__(self, layout, str hidden_activation, str output_activation, double alpha,
                 str loss=None, loss_parameter=None):
        if hidden_activation not in HIDDEN_ACTIVATION_CODES:
            raise ValueError(f"unsupported hidden activation {hidden_activation!r}")
        if output_activation not in DEFAULT_LOSS_OF_OUTPUT:
            raise ValueError(f"unsupported output activation {output_activation!r}")
        if loss is None:
            loss = DEFAULT_LOSS_OF_OUTPUT[output_activation]
        if loss not in LOSS_ENTRIES:
            raise ValueError(f"unsupported loss {loss!r}")
        _, loss_code, loss_output, _, has_parameter = LOSS_ENTRIES[loss]
        if loss_output != output_activation:
            raise ValueError(f"the {loss!r} loss goes with the {loss_output!r} output "
                             f"activation, not {output_activation!r}")
        if has_parameter != (loss_parameter is not None):
            raise ValueError(f"the {loss!r} loss takes "
                             f"{'a' if has_parameter else 'no'} loss_parameter")
        if has_parameter and not loss_parameter > 0:
            raise ValueError(f"loss_parameter must be a positive number, got {loss_parameter!r}")
        self._units = np.asarray(layout.layer_units, dtype=np.intp)
        self._coef_offset = np.asarray(layout.coef_offsets, dtype=np.intp)
        self._intercept_offset = np.asarray(layout.intercept_offsets, dtype=np.intp)
        self.n_params = layout.n_params
        self.shape.n_layers = self._units.shape[0] - 1
        self.shape.units = &self._units[0]
        self.shape.coef_offset = &self._coef_offset[0]
        self.shape.intercept_offset = &self._intercept_offset[0]
        self.shape.hidden_activation = HIDDEN_ACTIVATION_CODES[hidden_activation]
        self.shape.output_activation = ACTIVATION_CODES[output_activation]
        self.shape.loss = loss_code
        self.shape.loss_parameter = loss_parameter if has_parameter else 0.0
        self.shape.alpha = alpha

    def splits_one_row(self, Py_ssize_t itemsize):
        """Whether a forward pass of one row splits a layer's product in two
        (one_row_matmul), for a ThreadTeam to share, with weights of
        itemsize bytes."""
        cdef Py_ssize_t l
        for l in range(self.shape.n_layers):
            if splits_product(self.shape.units[l], self.shape.units[l + 1], itemsize):
                return True
        return False

    cdef Py_ssize_t chunk_rows(self, Py_ssize_t n_samples):
        """Rows per chunk for a pass over n_samples rows: at least 1, at most
        MAX_CHUNK_ROWS, within CHUNK_ELEMENTS of workspace and BLAS's size limit."""
        cdef Py_ssize_t rows = min(n_samples, MAX_CHUNK_ROWS), l
        cdef Py_ssize_t widest = 1, per_row = self.workspace_size(1, True)
        for l in range(self.shape.n_layers + 1):
            widest = max(widest, self.shape.units[l])
        rows = min(rows, CHUNK_ELEMENTS // max(per_row, 1), MAX_BLAS_INT // widest)
        return max(rows, 1)

    cdef Py_ssize_t workspace_size(self, Py_ssize_t n_rows, bint with_z):
        """Length of the buffer holding activations and deltas of n_rows rows,
        and with_z their kept derivatives (see carve_workspace)."""
        cdef Py_ssize_t total = 0, l
        for l in range(1, self.shape.n_layers + 1):
            total += 2 * n_rows * self.shape.units[l]
            if with_z and keeps_derivative(&self.shape, l):
                total += n_rows * self.shape.units[l]
        return total

    cdef void check_rows(self, Py_ssize_t n_rows) except *:
        cdef Py_ssize_t l
        for l in range(self.shape.n_layers + 1):
            if n_rows * self.shape.units[l] > MAX_BLAS_INT:
                raise ValueError(
                    f"a batch of {n_rows} rows of a {self.shape.units[l]}-wide layer "
                    "exceeds the 2**31 - 1 elements a BLAS call can address"
                )

    cdef void check_sizes(self, Py_ssize_t n_features, Py_ssize_t n_outputs,
                          Py_ssize_t n_params) except *:
        """Raise ValueError unless the sizes fit this network (-1 skips n_outputs)."""
        cdef Py_ssize_t n_layers = self.shape.n_layers
        if n_features != self.shape.units[0]:
            raise ValueError(
                f"X has {n_features} columns, the network expects {self.shape.units[0]}"
            )
        if n_outputs != -1 and n_outputs != self.shape.units[n_layers]:
            raise ValueError(
                f"Y has {n_outputs} columns, the network has {self.shape.units[n_layers]} outputs"
            )
        if n_params != self.n_params:
            raise ValueError(f"params has {n_params} entries, the network has {self.n_params}")


cdef inline bint keeps_derivative(const NetShape *net, Py_ssize_t l) noexcept nogil:
    """Whether the forward pass keeps the derivatives f'(z) of layer l
    (activations[l]) for the backward pass: a hidden layer whose activation
    says keeps_derivative in src_c/mlpfast_tables.h."""
    return 0 < l < net.n_layers and mlpf_activation_keeps_derivative[net.hidden_activation] != 0


cdef struct DropoutState:
    # What every batch of a fit with dropout draws its masks from (Dropout).
    const double *rates          # n_layers + 1 rates, one per activation layer
                                 #   (input and output 0); 0: no dropout there
    uint64_t key                 # the fit's key
    uint64_t batch               # in/out: batches trained so far with this key


cdef struct DropoutBlock:
    # Dropout as one block of a batch's rows sees it (BatchPart.dropout).
    DropoutState *state          # NULL: no dropout (predict, the loss, L-BFGS)
    void **dropped               # LayerPointers.dropped of the block's buffers
    unsigned char **masks        # LayerPointers.masks
    Py_ssize_t first_row         # the block's first row within the batch


cdef class Dropout:
    """Inverted dropout of the hidden layers, for one fit: rates, key, batch count.

    ``train_epoch`` zeroes each hidden unit of each training row with its
    layer's probability p and scales the units kept by 1 / (1 - p), in the
    forward pass and, with the same mask, in the backward pass, as
    ``torch.nn.Dropout`` in training mode.  A unit's fate is a hash of the
    key, the batch's number (counted in ``batches``, which ``train_epoch``
    advances in place), the layer and the unit's place in the batch (see
    src_c/elementwise_impl.h, mlpf_dropout_forward): nothing is drawn from
    a random state, and the masks do not depend on threads.

    Parameters
    ----------
    rates : sequence of float
        One rate in [0, 1) per hidden layer.
    key : int
        The fit's key, 0 <= key < 2**64.
    batches : int, default=0
        Batches already trained with this key.
    """
    cdef DropoutState state
    cdef double[::1] _rates
    cdef readonly Py_ssize_t n_hidden

    def __init__(self, rates, key, batches=0):
        rates = np.asarray(rates, dtype=np.float64)
        if rates.ndim != 1 or not np.all((rates >= 0) & (rates < 1)):
            raise ValueError(f"dropout rates must be a sequence of numbers in [0, 1), "
                             f"got {rates!r}")
        if not 0 <= key < 2 ** 64 or not 0 <= batches < 2 ** 64:
            raise ValueError("the dropout key and batch count must be in [0, 2**64)")
        self.n_hidden = rates.shape[0]
        self._rates = np.concatenate([[0.0], rates, [0.0]])
        self.state.rates = &self._rates[0]
        self.state.key = key
        self.state.batch = batches

    @property
    def batches(self):
        """Batches trained so far with this key."""
        return self.state.batch


def dropout_mask(Dropout dropout not None, Py_ssize_t layer, Py_ssize_t first_row,
                 Py_ssize_t n_rows, Py_ssize_t n_units):
    """The mask of kept units that the next batch would draw for rows of a hidden layer.

    For tests: rows ``first_row`` to ``first_row + n_rows`` of the batch
    numbered ``dropout.batches``, of hidden layer ``layer`` (1 is the
    first), ``n_units`` wide.

    Returns
    -------
    kept : ndarray of shape (n_rows, n_units), bool
    """
    if not 1 <= layer <= dropout.n_hidden:
        raise ValueError(f"layer must be in [1, {dropout.n_hidden}], got {layer}")
    if first_row < 0 or n_rows < 0 or n_units < 1 or (first_row + n_rows) * n_units > MAX_BLAS_INT:
        raise ValueError("rows or units out of range")
    cdef double[:, ::1] ones = np.ones((n_rows, n_units))
    cdef double[:, ::1] dropped = np.empty((n_rows, n_units))
    kept = np.empty((n_rows, n_units), dtype=np.uint8)
    cdef unsigned char[:, ::1] kept_view = kept
    cdef mlpf_dropout_draw draw
    mlpf_dropout_draw_for(&draw, dropout.state.key, dropout.state.batch, <int> layer,
                          dropout.state.rates[layer])
    draw.first_row = first_row
    if n_rows:
        dropout_forward(&ones[0, 0], &dropped[0, 0], &kept_view[0, 0], n_rows, n_units, &draw)
    return kept.view(bool)


cdef class LayerPointers:
    """Per-call tables of pointers to each layer's activations, deltas and
    kept derivatives.

    Owned by one call of a kernel, so concurrent calls never share them.
    """
    cdef void **activations   # n_layers + 1 entries, the input first
    cdef void **deltas        # n_layers entries
    cdef void **zs            # kept f'(z), n_layers + 1 entries; NULL where not kept
    # Dropout (training only), n_layers + 1 entries as activations, NULL for
    # layers without: the activations after dropout, which the next layer
    # reads, and the masks of the units kept (0/1 bytes).
    cdef void **dropped
    cdef unsigned char **masks

    def __cinit__(self, Py_ssize_t n_layers):
        self.activations = <void **> malloc((n_layers + 1) * sizeof(void *))
        self.deltas = <void **> malloc(n_layers * sizeof(void *))
        self.zs = <void **> calloc(n_layers + 1, sizeof(void *))
        self.dropped = <void **> calloc(n_layers + 1, sizeof(void *))
        self.masks = <unsigned char **> calloc(n_layers + 1, sizeof(unsigned char *))
        if (self.activations == NULL or self.deltas == NULL or self.zs == NULL
                or self.dropped == NULL or self.masks == NULL):
            raise MemoryError("cannot allocate the layer pointer tables")

    def __dealloc__(self):
        free(self.activations)
        free(self.deltas)
        free(self.zs)
        free(self.dropped)
        free(self.masks)


cdef inline const void *data_pointer(cnp.ndarray array):
    return <const void *> cnp.PyArray_DATA(array)


cdef class TransposedWeights:
    """Transposed copies of the weights that backpropagation multiplies by.

    For one kernel call: the layers past the first whose delta @ W^T
    product over a batch part is small (TRANSPOSED_COPY_MAX_MACS) get a
    copy of W^T, which the caller refreshes whenever the parameters change.

    Parameters
    ----------
    net : Network
    dtype : numpy dtype the call computes in
    part_rows : int
        The rows of the first part of the call's largest batch (or chunk).
    """
    cdef void **coefs    # n_layers entries: a layer's W^T, or NULL
    cdef object buffer

    def __cinit__(self, Network net, dtype, Py_ssize_t part_rows):
        cdef const NetShape *shape = &net.shape
        cdef Py_ssize_t l, fan_in, fan_out, total = 0
        self.coefs = <void **> calloc(shape.n_layers, sizeof(void *))
        if self.coefs == NULL:
            raise MemoryError("cannot allocate the transposed weight table")
        offsets = {}
        for l in range(1, shape.n_layers):
            fan_in, fan_out = shape.units[l], shape.units[l + 1]
            # A one-wide side makes the product a vector product, which the
            # BLAS wrappers already route (matmul_transposed_b).
            if (fan_in > 1 and fan_out > 1
                    and part_rows * fan_in * fan_out <= TRANSPOSED_COPY_MAX_MACS):
                offsets[l] = total
                total += fan_in * fan_out
        self.buffer = np.empty(total, dtype=dtype)
        cdef char *base = <char *> data_pointer(self.buffer)
        cdef Py_ssize_t itemsize = self.buffer.itemsize
        for l, offset in offsets.items():
            self.coefs[l] = <void *> (base + <Py_ssize_t> offset * itemsize)

    def __dealloc__(self):
        free(self.coefs)


cdef void refresh_transposed(const NetShape *net, const floating *params,
                             void **coefs) noexcept nogil:
    """Copy each layer's W^T from params into its slot of coefs, where there is one."""
    cdef Py_ssize_t l
    for l in range(net.n_layers):
        if coefs[l] != NULL:
            transpose(params + net.coef_offset[l], net.units[l], net.units[l + 1],
                      <floating *> coefs[l])


cdef class InputMatrix:
    """X as the kernels read it: a dense row-major array, or CSR arrays.

    Checks dtype, layout and CSR consistency, and holds X for as long as the
    raw pointers are in use.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features), C-contiguous, or a CSR
        holder (``format == 'csr'``, e.g. mlpfast._inputs.KernelCsr) with
        intp ``indices`` and ``indptr`` whose indices the caller has checked
        to lie in [0, n_features).
    dtype : numpy dtype the kernel computes in
    """
    cdef readonly bint is_sparse
    cdef readonly Py_ssize_t n_rows, n_features
    cdef object owner
    cdef const void *dense_data
    cdef SparseRows sparse_rows

    def __init__(self, X, dtype):
        self.owner = X
        self.is_sparse = getattr(X, "format", None) == "csr"
        if X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional, got shape {X.shape}")
        self.n_rows, self.n_features = X.shape
        if X.dtype != dtype:
            raise ValueError(f"X has dtype {X.dtype}, the kernel computes in {np.dtype(dtype)}")
        memset(&self.sparse_rows, 0, sizeof(SparseRows))
        if not self.is_sparse:
            if not (isinstance(X, np.ndarray) and cnp.PyArray_IS_C_CONTIGUOUS(X)):
                raise ValueError("dense X must be a C-contiguous ndarray")
            self.dense_data = data_pointer(X)
            return
        if X.indices.dtype != np.intp or X.indptr.dtype != np.intp:
            raise ValueError("CSR indices and indptr must be intp arrays")
        if (X.indptr.shape[0] != self.n_rows + 1 or X.indptr[0] != 0
                or X.indptr[self.n_rows] != X.data.shape[0] or X.indices.shape[0] != X.data.shape[0]
                or not (X.data.flags.c_contiguous and X.indices.flags.c_contiguous
                        and X.indptr.flags.c_contiguous)):
            raise ValueError("X is not a consistent CSR matrix")
        self.sparse_rows.values = data_pointer(X.data)
        self.sparse_rows.indices = <const intp_t *> data_pointer(X.indices)
        self.sparse_rows.indptr = <const intp_t *> data_pointer(X.indptr)


cdef void carve_workspace(const NetShape *net, cnp.ndarray workspace, Py_ssize_t n_rows,
                          void **activations, void **deltas, void **zs):
    """Point activations[1:] and deltas[:] at consecutive slices of workspace,
    n_rows rows of each layer, and zs[l] (unless zs is NULL: predict has no
    backward pass) where keeps_derivative(l); workspace_size(n_rows, zs != NULL)
    elements in all."""
    cdef char *base = <char *> cnp.PyArray_DATA(workspace)
    cdef Py_ssize_t itemsize = workspace.itemsize, offset = 0, l
    for l in range(1, net.n_layers + 1):
        activations[l] = base + offset * itemsize
        offset += n_rows * net.units[l]
        deltas[l - 1] = base + offset * itemsize
        offset += n_rows * net.units[l]
        if zs != NULL and keeps_derivative(net, l):
            zs[l] = base + offset * itemsize
            offset += n_rows * net.units[l]


cdef inline void select_input_rows(floating **activations, SparseRows *sparse,
                                   const floating *x_data, Py_ssize_t first_row,
                                   Py_ssize_t n_features) noexcept nogil:
    """Make the next forward pass read X from row first_row on."""
    if sparse != NULL:
        sparse.first_row = first_row
    else:
        # The input is only read; the pointer table is shared with writable
        # layers, hence the cast.
        activations[0] = <floating *> (x_data + first_row * n_features)


cdef inline floating *layer_input(floating **activations, const DropoutBlock *dropout,
                                  Py_ssize_t l) noexcept nogil:
    """What the layer after activation layer l reads: its activations, after
    dropout where it has some."""
    if dropout != NULL and dropout.dropped[l] != NULL:
        return <floating *> dropout.dropped[l]
    return activations[l]


cdef void drop_units(const NetShape *net, const DropoutBlock *dropout, Py_ssize_t l,
                     const floating *activations, Py_ssize_t n_rows) noexcept nogil:
    """Dropout of hidden layer l's activations into dropout.dropped[l] and its mask."""
    cdef mlpf_dropout_draw draw
    mlpf_dropout_draw_for(&draw, dropout.state.key, dropout.state.batch, <int> l,
                          dropout.state.rates[l])
    draw.first_row = dropout.first_row
    dropout_forward(activations, <floating *> dropout.dropped[l], dropout.masks[l], n_rows,
                    net.units[l], &draw)


cdef struct SplitProducts:
    # How a forward pass of one dense row computes its products
    # (one_row_matmul): those of the large layers in two halves, the second
    # into scratch (room for the widest such layer), on team's first
    # helper, or here after the first half when team is NULL.
    mlpf_team *team
    void *scratch


cdef struct InnerHalves:
    # One product of one_row_matmul: a (n_in) @ w (n_in x n_out), the inner
    # rows [0, middle) into out[0] and [middle, n_in) into out[1].
    const void *a
    const void *w
    void *out[2]
    Py_ssize_t n_in, n_out, middle


cdef inline bint leaves_to_blas(Py_ssize_t n_in, Py_ssize_t n_out,
                                Py_ssize_t itemsize) noexcept nogil:
    """Whether a one-row forward pass leaves a layer's product to BLAS."""
    return n_in * n_out * itemsize >= ONE_ROW_BLAS_MIN_BYTES


cdef inline bint splits_product(Py_ssize_t n_in, Py_ssize_t n_out,
                                Py_ssize_t itemsize) noexcept nogil:
    """Whether a one-row forward pass splits a layer's product (one_row_matmul)."""
    return (n_in >= 2 and n_in * n_out * itemsize >= SPLIT_MIN_BYTES
            and not leaves_to_blas(n_in, n_out, itemsize))


cdef Py_ssize_t split_scratch_size(const NetShape *net, Py_ssize_t itemsize) noexcept nogil:
    """Elements to allocate for SplitProducts.scratch (split_scratch places it)."""
    cdef Py_ssize_t l, widest = 1
    for l in range(net.n_layers):
        if splits_product(net.units[l], net.units[l + 1], itemsize):
            widest = max(widest, net.units[l + 1])
    return widest + 2 * CACHE_LINE_BYTES // itemsize


cdef inline void *split_scratch(void *allocated) noexcept nogil:
    """Where SplitProducts.scratch starts in split_scratch_size elements at allocated.

    On a cache line of its own, with a line to spare after it: the helper
    writes its half's sums there while the caller writes its own half's
    output. Sharing a line, the two cores passed it back and forth at every
    pass over the outputs: 784 -> 256 -> 10 float32, whose hidden layer came
    right before the scratch, took 10.9 us per row with the helper and 8.5
    alone (bench/MEASUREMENTS.md, 'The helper's scratch on cache lines of
    its own').
    """
    cdef uintptr_t address = <uintptr_t> allocated
    return <void *> ((address + CACHE_LINE_BYTES - 1) // CACHE_LINE_BYTES * CACHE_LINE_BYTES)


cdef void inner_half(const InnerHalves *halves, int part, floating *out) noexcept nogil:
    """Half `part` (0 or 1) of an InnerHalves product into out."""
    cdef Py_ssize_t first = 0 if part == 0 else halves.middle
    cdef Py_ssize_t end = halves.middle if part == 0 else halves.n_in
    row_times_matrix(<const floating *> halves.a + first,
                     <const floating *> halves.w + first * halves.n_out,
                     end - first, halves.n_out, out)


# One per dtype for mlpf_part_fn, as compute_part_f64 and _f32 are.
cdef void inner_half_f64(void *context, int part) noexcept nogil:
    cdef InnerHalves *halves = <InnerHalves *> context
    inner_half(halves, part, <double *> halves.out[part])


cdef void inner_half_f32(void *context, int part) noexcept nogil:
    cdef InnerHalves *halves = <InnerHalves *> context
    inner_half(halves, part, <float *> halves.out[part])


cdef void one_row_matmul(const SplitProducts *split, const floating *a, const floating *w,
                         floating *c, Py_ssize_t n_in, Py_ssize_t n_out) noexcept nogil:
    """c (n_out) = a (n_in) @ w: by BLAS where leaves_to_blas says so,
    where splits_product says so as two products over the halves of the
    inner dimension, added, and otherwise as one product.

    A forward pass of one row streams each weight matrix once and does
    little else: two threads each stream half of a large one from the cache
    of their own core (each core's L2 keeps its half between calls), in
    about half the time.  The halves are cut by the inner dimension so that
    each reads a contiguous block of w.  The same sums on any thread.
    row_times_matrix computes the products below ONE_ROW_BLAS_MIN_BYTES,
    not BLAS: OpenBLAS starts threads of its own for products from about
    9,000 weights, which a one-row product in cache does not repay, and
    which would compete with the helper's half.
    """
    if leaves_to_blas(n_in, n_out, sizeof(floating)):
        matmul(a, w, c, 1, <int> n_in, <int> n_out)
        return
    if not splits_product(n_in, n_out, sizeof(floating)):
        row_times_matrix(a, w, n_in, n_out, c)
        return
    cdef InnerHalves halves
    halves.a = a
    halves.w = w
    halves.out[0] = c
    halves.out[1] = split.scratch
    halves.n_in = n_in
    halves.n_out = n_out
    halves.middle = n_in // 2
    cdef mlpf_part_fn fn = inner_half_f64 if floating is double else inner_half_f32
    if split.team != NULL:
        # Brief: a helper asleep is not woken for a lone call (the wake-up
        # would cost more than the half), only within a stream of calls.
        mlpf_team_run_brief(split.team, fn, &halves, 2)
    else:
        fn(&halves, 0)
        fn(&halves, 1)
    add_into(c, <const floating *> split.scratch, n_out)


cdef void forward_layers(const NetShape *net, const floating *params,
                         floating **activations, floating **zs, Py_ssize_t n_rows,
                         const SparseRows *sparse, const DropoutBlock *dropout,
                         const SplitProducts *split) noexcept nogil:
    """activations[l + 1] = f(activations[l] @ W_l + b_l) for every layer.

    Keeps the derivatives f'(z) of layer l in zs[l] where that is not NULL
    (zs: NULL, or a table of carve_workspace).  With sparse input, the
    first product reads the CSR rows instead of activations[0].  With
    dropout (not NULL), a hidden layer that has some is read by the next
    one after dropout (drop_units); its activations stay as they are, for
    the derivative.  With split (not NULL: one dense row), the products are
    one_row_matmul's.
    """
    cdef Py_ssize_t l
    cdef int activation
    for l in range(net.n_layers):
        if l == 0 and sparse != NULL:
            sparse_matmul(sparse, n_rows, params + net.coef_offset[0], activations[1],
                          net.units[1])
        elif split != NULL:
            one_row_matmul(split, layer_input(activations, dropout, l),
                           params + net.coef_offset[l], activations[l + 1],
                           net.units[l], net.units[l + 1])
        else:
            matmul(layer_input(activations, dropout, l), params + net.coef_offset[l],
                   activations[l + 1], n_rows, net.units[l], net.units[l + 1])
        activation = (net.output_activation if l == net.n_layers - 1
                      else net.hidden_activation)
        bias_activation(activations[l + 1], params + net.intercept_offset[l],
                        n_rows, net.units[l + 1], activation,
                        zs[l + 1] if zs != NULL else NULL)
        if dropout != NULL and dropout.dropped[l + 1] != NULL:
            drop_units(net, dropout, l + 1, activations[l + 1], n_rows)


cdef double add_chunk_gradient(const NetShape *net, const floating *params,
                               floating **transposed_coefs,
                               floating **activations, floating **deltas, floating **zs,
                               const floating *y, const floating *sample_weight,
                               Py_ssize_t n_rows, const SparseRows *sparse,
                               const DropoutBlock *dropout,
                               floating *grad, bint first_chunk) noexcept nogil:
    """Backward pass of rows whose forward pass is done.

    Writes (first_chunk) or adds the raw gradient sums ``a^T delta`` and
    ``sum(delta)`` into grad, before the L2 term and the division by the
    weight sum (finish_gradient).  Backpropagates through the copies of W^T
    in transposed_coefs where a layer has one (TransposedWeights), and
    through the activations' derivatives, from the activations or as the
    forward pass kept them in zs (NULL entries where none are kept), and
    through the dropout masks of forward_layers (dropout not NULL).
    Returns the chunk's loss summed over rows, weighted when sample_weight
    is not NULL.
    """
    cdef Py_ssize_t l, last = net.n_layers - 1
    cdef Py_ssize_t fan_in, fan_out
    cdef floating *coef_grad
    cdef double loss_sum = loss_and_output_delta(activations[last + 1], y, sample_weight,
                                                 deltas[last], n_rows,
                                                 net.units[last + 1], net.loss,
                                                 net.loss_parameter)
    for l in range(last, -1, -1):
        fan_in = net.units[l]
        fan_out = net.units[l + 1]
        coef_grad = grad + net.coef_offset[l]
        if l == 0 and sparse != NULL:
            sparse_transposed_matmul(sparse, n_rows, deltas[0], coef_grad, fan_in, fan_out,
                                     not first_chunk)
        elif first_chunk:
            matmul_transposed_a(layer_input(activations, dropout, l), deltas[l], coef_grad,
                                fan_in, n_rows, fan_out)
        else:
            add_matmul_transposed_a(layer_input(activations, dropout, l), deltas[l],
                                    coef_grad, fan_in, n_rows, fan_out)
        column_sums(deltas[l], n_rows, fan_out, grad + net.intercept_offset[l],
                    not first_chunk)
        if l > 0:
            if transposed_coefs[l] != NULL:
                matmul(deltas[l], transposed_coefs[l], deltas[l - 1], n_rows, fan_out,
                       fan_in)
            else:
                matmul_transposed_b(deltas[l], params + net.coef_offset[l], deltas[l - 1],
                                    n_rows, fan_out, fan_in)
            if dropout != NULL and dropout.dropped[l] != NULL:
                dropout_backward(deltas[l - 1], dropout.masks[l], n_rows * fan_in,
                                 1.0 / (1.0 - dropout.state.rates[l]))
            multiply_derivative(zs[l], activations[l], deltas[l - 1], n_rows * fan_in,
                                net.hidden_activation)
    return loss_sum


cdef double l2_loss_term(const NetShape *net, const floating *params,  # IN
                         double weight_sum) noexcept nogil:
    """scikit-learn's L2 term of the loss: ``alpha/2 ||W||^2 / weight_sum``."""
    cdef Py_ssize_t l, n_weights
    cdef double squared_weights = 0.0
    for l in range(net.n_layers):
        n_weights = net.units[l] * net.units[l + 1]
        squared_weights += dot(<int> n_weights, params + net.coef_offset[l],
                               params + net.coef_offset[l])
    return 0.5 * net.alpha * squared_weights / weight_sum


cdef double finish_gradient(const NetShape *net, const floating *params,  # IN
                            floating *grad,                               # IN/OUT
                            double weight_sum) noexcept nogil:
    """Add the L2 term and divide by the weight sum; return the L2 loss term.

    scikit-learn's gradient is ``(a^T delta + alpha W) / weight_sum`` and
    ``sum(delta) / weight_sum``; its loss adds ``alpha/2 ||W||^2 / weight_sum``.
    """
    cdef Py_ssize_t l, n_weights
    for l in range(net.n_layers):
        n_weights = net.units[l] * net.units[l + 1]
        finish_weight_gradient(grad + net.coef_offset[l], params + net.coef_offset[l],
                               n_weights, net.alpha, weight_sum)
        divide(grad + net.intercept_offset[l], net.units[l + 1], weight_sum)
    return l2_loss_term(net, params, weight_sum)


cdef void gather_rows(const floating *source, Py_ssize_t width, const intp_t *rows,
                      Py_ssize_t n_rows, floating *target) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n_rows):
        memcpy(target + i * width, source + rows[i] * width, width * sizeof(floating))


cdef void gather_label_rows(const unsigned char *source, Py_ssize_t width,
                            const intp_t *rows, Py_ssize_t n_rows,
                            floating *target) noexcept nogil:
    """gather_rows for 0/1 label bytes, converted to the network's dtype.

    Classifier targets stay bool until a batch needs them, as in
    scikit-learn, instead of a float copy of the whole target matrix.
    """
    cdef Py_ssize_t i, j
    cdef const unsigned char *row
    for i in range(n_rows):
        row = source + rows[i] * width
        for j in range(width):
            target[i * width + j] = row[j]


cdef struct BatchPart:
    # One part of a mini-batch: where its rows come from, where they go and
    # the buffers its forward and backward passes use.  Data pointers are
    # void * (a struct cannot be fused); each is the network's dtype unless
    # said otherwise.
    const NetShape *shape
    const void *params
    const void *x_data           # dense X, or NULL with sparse input
    SparseRows sparse            # this part's view of CSR input
    const unsigned char *y_labels  # 0/1 label bytes, or NULL
    const void *y_values         # targets when y_labels is NULL
    Py_ssize_t n_features, n_outputs
    const intp_t *rows           # this part's slice of the sample order, or NULL:
    Py_ssize_t first_row         #   rows first_row, first_row + 1, ... read in place
    Py_ssize_t n_rows
    void *x_batch                # this part's rows of the gathered batch
    void *y_batch
    const void *weights          # this part's sample weights, or NULL
    void **activations
    void **deltas
    void **zs                    # kept derivatives (LayerPointers.zs)
    void **transposed_coefs      # TransposedWeights.coefs of the call: to
                                 #   refresh_transposed after each step
    void *grad                   # raw gradient sums of this part
    bint accumulate              # add to grad instead of overwriting it
    DropoutBlock dropout         # dropout.state NULL: none
    double loss_sum              # out: this part's (weighted) loss sum


cdef void compute_part(BatchPart *part, floating *grad) noexcept nogil:
    """Forward and backward passes of a batch part into grad.

    Gathers its rows first, unless they are consecutive rows read in place.
    """
    cdef floating **activations = <floating **> part.activations
    cdef SparseRows *sparse = &part.sparse if part.x_data == NULL else NULL
    cdef const floating *y
    if part.rows == NULL:
        if sparse != NULL:
            sparse.rows = NULL
            sparse.first_row = part.first_row
        else:
            activations[0] = <floating *> part.x_data + part.first_row * part.n_features
        y = <const floating *> part.y_values + part.first_row * part.n_outputs
    else:
        if sparse != NULL:
            sparse.rows = part.rows
        else:
            gather_rows(<const floating *> part.x_data, part.n_features, part.rows,
                        part.n_rows, <floating *> part.x_batch)
            activations[0] = <floating *> part.x_batch
        if part.y_labels != NULL:
            gather_label_rows(part.y_labels, part.n_outputs, part.rows, part.n_rows,
                              <floating *> part.y_batch)
        else:
            gather_rows(<const floating *> part.y_values, part.n_outputs, part.rows,
                        part.n_rows, <floating *> part.y_batch)
        y = <const floating *> part.y_batch
    cdef const DropoutBlock *dropout = &part.dropout if part.dropout.state != NULL else NULL
    forward_layers(part.shape, <const floating *> part.params, activations,
                   <floating **> part.zs, part.n_rows, sparse, dropout, NULL)
    part.loss_sum = add_chunk_gradient(
        part.shape, <const floating *> part.params,
        <floating **> part.transposed_coefs, activations,
        <floating **> part.deltas, <floating **> part.zs, y,
        <const floating *> part.weights, part.n_rows, sparse, dropout, grad,
        not part.accumulate,
    )


cdef inline Py_ssize_t parts_of_batch(Py_ssize_t n_rows, Py_ssize_t n_parts) noexcept nogil:
    """How many parts a batch (or chunk) of n_rows rows is cut into: n_parts,
    fewer where parts would have fewer than PART_MIN_ROWS rows, at least one."""
    return max(1, min(n_parts, n_rows // PART_MIN_ROWS))


cdef inline Py_ssize_t part_start(Py_ssize_t n_rows, Py_ssize_t used,
                                  Py_ssize_t part) noexcept nogil:
    """The first row of part ``part`` of a batch of n_rows cut into ``used``
    parts: ceil(part * n_rows / used).  The first part is the longest; cut
    in two, a batch's first (n_rows + 1) // 2 rows make the first part."""
    return (part * n_rows + used - 1) // used


cdef inline Py_ssize_t step_ranges(Py_ssize_t n_parts, Py_ssize_t n_params) noexcept nogil:
    """How many ranges (threads) the step of a call with n_parts parts takes:
    n_parts, but no more than one per MIN_RANGE_PARAMS parameters beyond two
    (a small network's step is not worth many threads; two, as ever, keeps
    the two-part rounding of the L2 sum)."""
    return max(min(2, n_parts), min(n_parts, n_params // MIN_RANGE_PARAMS))


cdef Py_ssize_t longest_later_part(Py_ssize_t max_rows, Py_ssize_t n_parts):
    """The most rows any part but the first has, over batches of up to max_rows rows."""
    cdef Py_ssize_t n_rows, used, longest = 0
    for n_rows in range(SPLIT_MIN_ROWS, max_rows + 1):
        used = parts_of_batch(n_rows, n_parts)
        longest = max(longest, part_start(n_rows, used, 1))
    return longest


cdef class BatchParts:
    """n_parts BatchPart records and the buffers they own, for one kernel call.

    parts[0] can take a whole batch of ``max_rows`` rows (batches too short
    to be cut), the others at most a later part of one; each has its own
    workspace, layer pointer tables and gradient (part 0's is the caller's,
    set by point_at).  ``grads`` lists the parts' gradients, for the step.

    Parameters
    ----------
    net : Network
    dtype : numpy dtype the call computes in
    max_rows : int
        The largest batch (or chunk) the call will compute.
    n_parts : int
        The most parts a batch is cut into (parts_of_batch), 1 to MAX_PARTS;
        only the parts that a batch of max_rows rows uses are kept.
    dropout : Dropout or None, default=None
        The dropout the call trains with: each part gets the buffers of its
        layers that have some, and draws from its state.
    """
    cdef BatchPart *parts
    cdef const void **grads
    cdef readonly Py_ssize_t n_parts
    cdef list buffers
    cdef list pointers
    cdef TransposedWeights transposed

    def __cinit__(self, Network net, dtype, Py_ssize_t max_rows, Py_ssize_t n_parts,
                  Dropout dropout=None):
        if not 1 <= n_parts <= MAX_PARTS:
            raise ValueError(f"n_parts must be in [1, {MAX_PARTS}], got {n_parts}")
        n_parts = parts_of_batch(max_rows, n_parts)
        self.n_parts = n_parts
        self.parts = <BatchPart *> calloc(n_parts, sizeof(BatchPart))
        self.grads = <const void **> calloc(n_parts, sizeof(void *))
        if self.parts == NULL or self.grads == NULL:
            raise MemoryError("cannot allocate the batch part table")

    def __init__(self, Network net, dtype, Py_ssize_t max_rows, Py_ssize_t n_parts,
                 Dropout dropout=None):
        cdef Py_ssize_t later_rows = longest_later_part(max_rows, n_parts)
        cdef Py_ssize_t used = self.n_parts, i, rows
        cdef BatchPart *part
        cdef LayerPointers pointers
        self.transposed = TransposedWeights(net, dtype, part_start(max_rows, used, 1)
                                            if used > 1 else max_rows)
        self.buffers = []
        self.pointers = []
        for i in range(used):
            rows = max_rows if i == 0 else later_rows
            part = &self.parts[i]
            pointers = LayerPointers(net.shape.n_layers)
            self.pointers.append(pointers)
            part.activations = pointers.activations
            part.deltas = pointers.deltas
            part.zs = pointers.zs
            part.transposed_coefs = self.transposed.coefs
            workspace = np.empty(max(net.workspace_size(rows, True), 1), dtype=dtype)
            carve_workspace(&net.shape, workspace, rows, part.activations, part.deltas,
                            part.zs)
            self.buffers.append(workspace)
            if i > 0:
                grad = np.empty(net.n_params if rows else 1, dtype=dtype)
                self.buffers.append(grad)
                part.grad = <void *> data_pointer(grad)
                self.grads[i] = part.grad
            if dropout is not None:
                self.buffers.append(carve_dropout(&net.shape, dropout, dtype, rows, pointers))
                part.dropout.state = &dropout.state
                part.dropout.dropped = pointers.dropped
                part.dropout.masks = pointers.masks

    def __dealloc__(self):
        free(self.parts)
        free(self.grads)

    cdef void point_at(self, const NetShape *shape, InputMatrix inputs, const void *params,
                       const unsigned char *y_labels, const void *y_values, void *grad):
        """Set what all parts read (X, the targets: labels or values, params)
        and where the first part's gradient goes."""
        cdef BatchPart *part
        cdef Py_ssize_t i
        for i in range(self.n_parts):
            part = &self.parts[i]
            part.shape = shape
            part.params = params
            if inputs.is_sparse:
                part.sparse = inputs.sparse_rows
            else:
                part.x_data = inputs.dense_data
            part.y_labels = y_labels
            part.y_values = y_values
            part.n_features = inputs.n_features
            part.n_outputs = shape.units[shape.n_layers]
        self.parts[0].grad = grad
        self.grads[0] = grad


cdef tuple carve_dropout(const NetShape *net, Dropout dropout, dtype, Py_ssize_t n_rows,
                         LayerPointers pointers):
    """Buffers for the dropped activations and masks of n_rows rows of each
    hidden layer with dropout, pointed at by pointers.dropped and .masks.

    Returns the buffers, which the caller keeps while the pointers are used.
    """
    cdef Py_ssize_t l, total = 0
    for l in range(1, net.n_layers):
        if dropout.state.rates[l] > 0:
            total += n_rows * net.units[l]
    dropped = np.empty(max(total, 1), dtype=dtype)
    masks = np.empty(max(total, 1), dtype=np.uint8)
    cdef char *dropped_base = <char *> cnp.PyArray_DATA(dropped)
    cdef unsigned char *mask_base = <unsigned char *> cnp.PyArray_DATA(masks)
    cdef Py_ssize_t offset = 0, itemsize = dropped.itemsize
    for l in range(1, net.n_layers):
        if dropout.state.rates[l] > 0:
            pointers.dropped[l] = dropped_base + offset * itemsize
            pointers.masks[l] = mask_base + offset
            offset += n_rows * net.units[l]
    return dropped, masks


# mlpf_team_run calls a plain C function pointer, mlpf_part_fn:
# void (*)(void *, int).  A fused Cython function must take an argument of
# the fused type, so none has that signature; hence one such function per
# dtype, each calling its specialization of the fused one.
cdef void compute_part_f64(void *parts, int index) noexcept nogil:
    cdef BatchPart *part = &(<BatchPart *> parts)[index]
    compute_part(part, <double *> part.grad)


cdef void compute_part_f32(void *parts, int index) noexcept nogil:
    cdef BatchPart *part = &(<BatchPart *> parts)[index]
    compute_part(part, <float *> part.grad)


cdef void set_part_rows(BatchPart *part, const intp_t *batch_order, Py_ssize_t first,
                        Py_ssize_t end, floating *x_batch, floating *y_batch,
                        const floating *weight_batch) noexcept nogil:
    """Point part at rows [first, end) of the batch and of its buffers."""
    part.dropout.first_row = first
    part.rows = batch_order + first
    part.n_rows = end - first
    part.x_batch = x_batch + first * part.n_features
    part.y_batch = y_batch + first * part.n_outputs
    part.weights = weight_batch + first if weight_batch != NULL else NULL


cdef void set_part_chunk(BatchPart *part, Py_ssize_t first_row, Py_ssize_t n_rows,
                         const floating *weights, bint accumulate) noexcept nogil:
    """Point part at rows [first_row, first_row + n_rows) of X, read in place.

    ``weights`` is the whole sample-weight vector or NULL; the part adds to
    its gradient when ``accumulate`` is set (not its first chunk).
    """
    part.rows = NULL
    part.first_row = first_row
    part.n_rows = n_rows
    part.accumulate = accumulate
    part.weights = weights + first_row if weights != NULL else NULL


cdef void run_parts(mlpf_team *team, mlpf_part_fn fn, void *context,
                    Py_ssize_t n_parts) noexcept nogil:
    """fn(context, i) for i < n_parts: on the team's threads when team is not NULL."""
    cdef Py_ssize_t i
    if team != NULL:
        mlpf_team_run(team, fn, context, <int> n_parts)
    else:
        for i in range(n_parts):
            fn(context, <int> i)


cdef void add_into(floating *total, const floating *part, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        total[i] += part[i]


cdef struct OptimizerStep:
    bint is_adam
    mlpf_sgd_step sgd
    mlpf_adam_step adam          # adam.learning_rate: the rate of the last step
    double learning_rate_init    # Adam's rate before bias correction (scheduled)
    long t                       # Adam's steps taken
    double weight_decay          # decoupled weight decay; 0: none
    double max_grad_norm         # gradient clipping's bound; 0: none


cdef class StepState:
    """An optimizer's step state, as train_epoch reads and advances it.

    The contract between the optimizers of mlpfast._solvers and the kernel:
    an optimizer builds one (sgd or adam) from its attributes and hands it
    to train_epoch with its moment arrays; the kernel steps with it and
    advances Adam's step count and rate in it batch by batch, so that it
    holds the last step taken also when the epoch stops early (Ctrl-C, a
    zero weight sum); the optimizer then adopts them.  SGD's state does not
    change within an epoch.

    Both builders take the step rules beyond scikit-learn's:
    ``weight_decay`` (decoupled, as ``torch.optim.AdamW``: before each
    update, every weight, not the biases, times ``1 - rate * weight_decay``,
    the rate being SGD's or Adam's before bias correction) and
    ``max_grad_norm`` (the batch's whole gradient, L2 term included, scaled
    by ``max_grad_norm / (norm + 1e-6)`` where that is below 1, as
    ``torch.nn.utils.clip_grad_norm_``; None: no clipping).
    """
    cdef OptimizerStep step

    def __init__(self):
        raise TypeError("build a StepState with StepState.sgd or StepState.adam")

    @staticmethod
    def sgd(double learning_rate, double momentum, bint nesterov, *,
            double weight_decay=0.0, max_grad_norm=None):
        """SGD with momentum, Nesterov's look-ahead if ``nesterov``."""
        cdef StepState state = StepState.__new__(StepState)
        state.step.sgd.learning_rate = learning_rate
        state.step.sgd.momentum = momentum
        state.step.sgd.nesterov = nesterov
        state.set_rules(weight_decay, max_grad_norm)
        return state

    @staticmethod
    def adam(double learning_rate_init, double learning_rate, double beta_1,
             double beta_2, double epsilon, long t, *, double weight_decay=0.0,
             max_grad_norm=None):
        """Adam after ``t`` steps, the last one taken at ``learning_rate``.

        ``learning_rate_init`` is the rate of the coming steps before bias
        correction (scikit-learn's, or the schedule's).
        """
        if t < 0:
            raise ValueError(f"Adam's step count must be >= 0, got {t}")
        cdef StepState state = StepState.__new__(StepState)
        state.step.is_adam = True
        state.step.learning_rate_init = learning_rate_init
        state.step.adam.learning_rate = learning_rate
        state.step.adam.beta_1 = beta_1
        state.step.adam.beta_2 = beta_2
        state.step.adam.epsilon = epsilon
        state.step.t = t
        state.set_rules(weight_decay, max_grad_norm)
        return state

    cdef void set_rules(self, double weight_decay, max_grad_norm) except *:
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        if max_grad_norm is not None and not max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be None or > 0, got {max_grad_norm}")
        self.step.weight_decay = weight_decay
        self.step.max_grad_norm = 0.0 if max_grad_norm is None else max_grad_norm

    @property
    def t(self):
        """Adam's steps taken (0 for SGD)."""
        return self.step.t

    @property
    def learning_rate(self):
        """SGD's rate; Adam's bias-corrected rate of its last step."""
        if self.step.is_adam:
            return self.step.adam.learning_rate
        return self.step.sgd.learning_rate


cdef void advance_step(OptimizerStep *step) noexcept nogil:
    """Count one more step; Adam's rate for it (the step itself is step_range's)."""
    if step.is_adam:
        step.t += 1
        step.adam.learning_rate = (step.learning_rate_init
                                   * sqrt(1.0 - pow(step.adam.beta_2, <double> step.t))
                                   / (1.0 - pow(step.adam.beta_1, <double> step.t)))


cdef inline double weight_decay_factor(const OptimizerStep *step) noexcept nogil:
    """What decoupled weight decay multiplies the weights by before this step.

    The rate is the one in force before Adam's bias correction (AdamW's).
    """
    cdef double rate = step.learning_rate_init if step.is_adam else step.sgd.learning_rate
    return 1.0 - rate * step.weight_decay


cdef struct ParamRange:
    # One of the ranges of the flat vector that the gradient finish and
    # optimizer step of a batch are split into, one per thread (see
    # train_epoch).  Data pointers are to the whole vectors, in the
    # network's dtype.
    const NetShape *shape
    const OptimizerStep *step
    void *params
    const void **grads           # each batch part's raw gradient (BatchParts.grads)
    Py_ssize_t n_grads           # the parts of this batch: grads[:n_grads] are added
    void *moment_1
    void *moment_2
    Py_ssize_t start, end
    double weight_sum
    bint squares_only            # the pass sums the gradient's squares only (clipping's first)
    double gradient_scale        # clipping's factor of this batch, 1: none
    double squared_gradient      # out: sum of squares of the finished gradient (clipping)
    double squared_weights       # out: sum of squares of this range's weights


cdef void set_run_update(const ParamRange *part, bint is_weights,
                         mlpf_run_update *update) noexcept nogil:
    """How one run of part's parameters (weights or biases) is finished and decayed."""
    update.alpha = part.shape.alpha
    update.add_l2 = is_weights
    update.weight_sum = part.weight_sum
    update.scale = part.gradient_scale
    update.decay_factor = weight_decay_factor(part.step) if is_weights else 1.0


cdef inline void point_grads(const ParamRange *part, Py_ssize_t first,
                             const floating **grads) noexcept nogil:
    """grads[i]: element ``first`` of batch part i's gradient, for i < part.n_grads."""
    cdef Py_ssize_t i
    for i in range(part.n_grads):
        grads[i] = <const floating *> part.grads[i] + first


cdef void update_run(ParamRange *part, floating *params, Py_ssize_t first, Py_ssize_t end,
                     bint is_weights) noexcept nogil:
    """Finish the gradient of params[first:end] (one layer's weights or
    biases) and take the optimizer step on them, in one pass."""
    cdef mlpf_run_update update
    set_run_update(part, is_weights, &update)
    cdef const floating *grads[MAX_PARTS]
    point_grads(part, first, grads)
    if part.step.is_adam:
        adam_finish_update(params + first, <floating *> part.moment_1 + first,
                           <floating *> part.moment_2 + first, grads, <int> part.n_grads,
                           end - first, &update, &part.step.adam)
    else:
        sgd_finish_update(params + first, <floating *> part.moment_1 + first, grads,
                          <int> part.n_grads, end - first, &update, &part.step.sgd)


cdef void squares_run(ParamRange *part, floating *params, Py_ssize_t first, Py_ssize_t end,
                      bint is_weights) noexcept nogil:
    """Add the sum of squares of the finished gradient of params[first:end]
    to part.squared_gradient."""
    cdef mlpf_run_update update
    set_run_update(part, is_weights, &update)
    cdef const floating *grads[MAX_PARTS]
    point_grads(part, first, grads)
    part.squared_gradient += finished_gradient_squares(
        grads, <int> part.n_grads, params + first, end - first, &update)


cdef inline bint weights_run(const ParamRange *part, Py_ssize_t l, Py_ssize_t *first,
                             Py_ssize_t *end) noexcept nogil:
    """Set [first, end) to the part of layer l's weights in part's range; False if none."""
    cdef const NetShape *net = part.shape
    first[0] = max(part.start, net.coef_offset[l])
    end[0] = min(part.end, net.coef_offset[l] + net.units[l] * net.units[l + 1])
    return first[0] < end[0]


cdef void squares_range(ParamRange *part, floating *params) noexcept nogil:
    """Gradient clipping's first pass over one range: the sum of squares of
    its finished gradient, in part.squared_gradient."""
    cdef const NetShape *net = part.shape
    cdef Py_ssize_t l, first, end
    part.squared_gradient = 0.0
    for l in range(net.n_layers):
        if weights_run(part, l, &first, &end):
            squares_run(part, params, first, end, True)
        first = max(part.start, net.intercept_offset[l])
        end = min(part.end, net.intercept_offset[l] + net.units[l + 1])
        if first < end:
            squares_run(part, params, first, end, False)


cdef void step_range(ParamRange *part, floating *params) noexcept nogil:
    """The gradient finish and optimizer step of one range of the flat vector.

    Adds the batch parts' gradients, in part order.  Leaves in
    part.squared_weights the sum of squares of the range's weights before
    the step (for the L2 term of the loss).  The step itself flushes
    subnormal numbers to zero (see mlpf_flush_subnormals_begin).
    """
    cdef const NetShape *net = part.shape
    cdef Py_ssize_t l, first, end
    cdef unsigned saved_fp_mode
    part.squared_weights = 0.0
    for l in range(net.n_layers):
        if weights_run(part, l, &first, &end):
            part.squared_weights += dot(<int> (end - first), params + first, params + first)
    saved_fp_mode = mlpf_flush_subnormals_begin()
    for l in range(net.n_layers):
        if weights_run(part, l, &first, &end):
            update_run(part, params, first, end, True)
        first = max(part.start, net.intercept_offset[l])
        end = min(part.end, net.intercept_offset[l] + net.units[l + 1])
        if first < end:
            update_run(part, params, first, end, False)
    mlpf_flush_subnormals_end(saved_fp_mode)


cdef void update_range(ParamRange *part, floating *params) noexcept nogil:
    """The pass over one range that part.squares_only asks for."""
    if part.squares_only:
        squares_range(part, params)
    else:
        step_range(part, params)


# One per dtype for mlpf_part_fn, as compute_part_f64 and _f32 are.
cdef void update_range_f64(void *ranges, int part) noexcept nogil:
    cdef ParamRange *param_range = &(<ParamRange *> ranges)[part]
    update_range(param_range, <double *> param_range.params)


cdef void update_range_f32(void *ranges, int part) noexcept nogil:
    cdef ParamRange *param_range = &(<ParamRange *> ranges)[part]
    update_range(param_range, <float *> param_range.params)


cdef void check_sample_weight(const floating[::1] sample_weight,
                              Py_ssize_t n_samples) except *:
    if sample_weight is not None and sample_weight.shape[0] != n_samples:
        raise ValueError(f"sample_weight must have shape ({n_samples},)")


cdef double rows_weight_sum(const floating[::1] sample_weight,  # IN
                            Py_ssize_t n_samples) except? -1.0:
    """The weight sum a whole-set loss divides by: the rows' count without weights.

    Checks the weights' length; ZeroDivisionError, as scikit-learn's loss
    raises, when they sum to zero.
    """
    check_sample_weight(sample_weight, n_samples)
    if sample_weight is None:
        return n_samples
    cdef double weight_sum = vector_sum(&sample_weight[0], n_samples)
    if weight_sum == 0:
        raise ZeroDivisionError(ZERO_WEIGHT_SUM_MESSAGE)
    return weight_sum


cdef struct EpochRun:
    # What the batch loop of one train_epoch call works on, set up by
    # train_epoch once every size is checked.  Data pointers are in the
    # network's dtype.
    const intp_t *sample_order
    Py_ssize_t start, stop       # the part of sample_order trained on
    Py_ssize_t batch_size
    const void *weights          # the sample weights of all rows, or NULL
    void *weight_batch           # a batch's sample weights, gathered
    void *x_batch                # a batch's rows of X and Y, gathered
    void *y_batch
    BatchPart *parts             # BatchParts.parts of the call
    Py_ssize_t n_parts           # the most parts a batch is cut into
    ParamRange *ranges           # the ranges of the optimizer step (step_ranges)
    Py_ssize_t n_ranges
    OptimizerStep *step          # in/out: StepState.step
    DropoutState *dropout        # in/out: Dropout.state, or NULL
    mlpf_team *team              # the helper threads, or NULL: parts run here in turn
    double loss_sum              # in/out: batch losses times lengths, added up
    bint zero_weight_sum         # out: stopped before a batch of weight sum 0


cdef void clip_gradient(EpochRun *run, floating *params) noexcept nogil:
    """Gradient clipping of a batch: the norm of its finished gradient (all
    ranges), and from it the scale the step multiplies the gradient by.

    The norm adds the ranges' sums of squares in range order, so the result
    does not depend on the threads.
    """
    cdef ParamRange *ranges = run.ranges
    cdef mlpf_part_fn update_part = (update_range_f64 if floating is double
                                     else update_range_f32)
    cdef Py_ssize_t i
    for i in range(run.n_ranges):
        ranges[i].squares_only = True
    run_parts(run.team, update_part, ranges, run.n_ranges)
    cdef double squared_norm = 0.0
    for i in range(run.n_ranges):
        squared_norm += ranges[i].squared_gradient
    cdef double scale = run.step.max_grad_norm / (sqrt(squared_norm) + 1e-6)
    for i in range(run.n_ranges):
        ranges[i].squares_only = False
        # Within the bound (or a NaN norm): the gradient as it is, as
        # clip_grad_norm_'s factor clamped at 1 leaves it.
        ranges[i].gradient_scale = scale if scale < 1.0 else 1.0


cdef int train_batches(EpochRun *run, floating *params) except -1 nogil:
    """The batch loop of train_epoch: each batch's gradient, then its step.

    A batch is computed as parts_of_batch parts, whose gradients the step
    adds (clip_gradient too, first, with clipping).  Stops before a batch
    whose sample weights sum to zero, and on Ctrl-C (checked every
    SIGNAL_CHECK_BATCHES batches; raises KeyboardInterrupt), after the last
    step taken.
    """
    cdef BatchPart *parts = run.parts
    cdef ParamRange *ranges = run.ranges
    cdef const NetShape *shape = parts[0].shape
    cdef const floating *weights = <const floating *> run.weights
    cdef floating *weight_batch = <floating *> run.weight_batch if weights != NULL else NULL
    cdef mlpf_part_fn compute = compute_part_f64 if floating is double else compute_part_f32
    cdef mlpf_part_fn step_part = update_range_f64 if floating is double else update_range_f32
    cdef const intp_t *batch_order
    cdef Py_ssize_t start = run.start, n_rows, used, batch_index = 0, i
    cdef double weight_sum, batch_loss, squared_weights
    while start < run.stop:
        if batch_index % SIGNAL_CHECK_BATCHES == 0:
            with gil:
                PyErr_CheckSignals()
        n_rows = min(run.batch_size, run.stop - start)
        batch_order = run.sample_order + start
        if weights != NULL:
            gather_rows(weights, 1, batch_order, n_rows, weight_batch)
            weight_sum = vector_sum(weight_batch, n_rows)
            if weight_sum == 0:
                run.zero_weight_sum = True
                return 0
        else:
            weight_sum = n_rows
        refresh_transposed(shape, params, parts[0].transposed_coefs)
        used = parts_of_batch(n_rows, run.n_parts)
        for i in range(used):
            set_part_rows(&parts[i], batch_order, part_start(n_rows, used, i),
                          part_start(n_rows, used, i + 1), <floating *> run.x_batch,
                          <floating *> run.y_batch, weight_batch)
        if used == 1:
            compute(parts, 0)
        else:
            run_parts(run.team, compute, parts, used)
        for i in range(run.n_ranges):
            ranges[i].weight_sum = weight_sum
            ranges[i].n_grads = used
            ranges[i].gradient_scale = 1.0
        advance_step(run.step)
        if run.step.max_grad_norm > 0:
            clip_gradient(run, params)
        run_parts(run.team, step_part, ranges, run.n_ranges)
        if run.dropout != NULL:
            run.dropout.batch += 1
        # Added in part and range order, so that the loss too does not
        # depend on the threads.
        batch_loss = parts[0].loss_sum
        for i in range(1, used):
            batch_loss += parts[i].loss_sum
        squared_weights = ranges[0].squared_weights
        for i in range(1, run.n_ranges):
            squared_weights += ranges[i].squared_weights
        batch_loss = (batch_loss / weight_sum
                      + 0.5 * shape.alpha * squared_weights / weight_sum)
        run.loss_sum += n_rows * batch_loss
        start += n_rows
        batch_index += 1
    return 0


def train_epoch(Network net,
                X,                                       # IN
                Y,                                       # IN
                const intp_t[::1] sample_order,          # IN
                Py_ssize_t batch_size,
                floating[::1] params,                    # IN/OUT
                StepState step not None,                 # IN/OUT
                floating[::1] moment_1,                  # IN/OUT
                floating[::1] moment_2,                  # IN/OUT
                const floating[::1] sample_weight=None,  # IN
                ThreadTeam threads=None,
                Py_ssize_t n_parts=2,
                rows=None,
                double loss_sum=0.0,
                Dropout dropout=None):                   # IN/OUT
    """Run one epoch of mini-batch training (or a run of its batches), updating params.

    Parameters
    ----------
    net : Network
    X : ndarray of shape (n_samples, n_features) or CSR matrix, params' dtype
    Y : ndarray of shape (n_samples, n_outputs), C-contiguous
        Targets: params' dtype, or bool/uint8 0/1 labels (binarized classes).
    sample_order : ndarray of shape (n_samples,), intp
        The row order of this epoch; batches are consecutive slices of it.
    batch_size : int
    params : ndarray of shape (n_params,)
        The flat parameter vector, updated in place after every batch.
    step : StepState
        The optimizer's step state (see StepState), advanced in place batch
        by batch, so that it holds the last step taken however the call
        ends.
    moment_1 : ndarray of shape (n_params,), params' dtype
        SGD's velocities or Adam's first moments, updated in place.
    moment_2 : ndarray of shape (n_params,), params' dtype, or None
        Adam's second moments, updated in place; None for SGD.
    sample_weight : ndarray of shape (n_samples,), params' dtype, or None
    threads : ThreadTeam or None, default=None
        Compute the parts of each batch, and the step's ranges, on the
        caller's thread and these (None: the caller's alone).  The result is
        the same either way.
    n_parts : int, default=2
        Cut each batch into this many parts (fewer for short batches, see
        parts_of_batch) and the step into as many ranges of the flat vector
        (fewer for small networks, see step_ranges): one per thread.  The
        result depends on it in its last bits (the parts' gradients and the
        ranges' sums are added in order).
    rows : tuple of int (start, stop) or None, default=None
        Train on ``sample_order[start:stop]`` only (None: all of it), cut
        into batches from ``start`` on.  An epoch trained as consecutive
        runs whose starts are multiples of batch_size, passing each run the
        previous run's loss sum, ends exactly as if trained in one call.
    loss_sum : float, default=0.0
        The sum the batches' losses are added to, one by one.
    dropout : Dropout or None, default=None
        Dropout of the hidden layers (None: none); its batch count advances
        batch by batch.  The loss is the loss of the dropped-out network.

    Returns
    -------
    loss_sum : float
        ``loss_sum`` plus, over the batches, batch loss times batch length
        (over a whole epoch: scikit-learn's epoch loss before its division
        by n_samples).

    Raises
    ------
    KeyboardInterrupt
        On Ctrl-C, between two mini-batches; params, the moments and step
        hold the last update.
    ZeroDivisionError
        When a batch's sample weights sum to zero, before its update.
    """
    dtype = np.float64 if floating is double else np.float32
    cdef InputMatrix inputs = InputMatrix(X, dtype)
    cdef Py_ssize_t n_samples = inputs.n_rows, n_features = inputs.n_features
    cdef bint labels = Y.dtype == np.bool_ or Y.dtype == np.uint8
    cdef const unsigned char[:, ::1] Y_labels
    cdef const floating[:, ::1] Y_values
    if labels:
        Y_labels = Y.view(np.uint8)
    else:
        Y_values = Y
    cdef Py_ssize_t n_outputs = Y.shape[1], i
    net.check_sizes(n_features, n_outputs, params.shape[0])
    if Y.shape[0] != n_samples or sample_order.shape[0] != n_samples:
        raise ValueError("X, Y and sample_order must have the same number of rows")
    check_sample_weight(sample_weight, n_samples)
    if not 1 <= batch_size <= n_samples:
        raise ValueError(f"batch_size must be in [1, {n_samples}], got {batch_size}")
    for i in range(n_samples):
        if not 0 <= sample_order[i] < n_samples:
            raise ValueError("sample_order holds a row index out of range")
    cdef Py_ssize_t start = 0, stop = n_samples
    if rows is not None:
        start, stop = rows
        if not 0 <= start < stop <= n_samples:
            raise ValueError(f"rows must satisfy 0 <= start < stop <= {n_samples}, "
                             f"got {rows!r}")
    net.check_rows(batch_size)
    if (moment_2 is None) == step.step.is_adam:
        raise ValueError("moment_2 must be an array for Adam and None for SGD")
    if (moment_1 is None or moment_1.shape[0] != net.n_params
            or (moment_2 is not None and moment_2.shape[0] != net.n_params)):
        raise ValueError("optimizer state does not match the network")

    cdef const NetShape *shape = &net.shape
    cdef floating[:, ::1] x_batch = np.empty((batch_size, n_features), dtype=dtype)
    cdef floating[:, ::1] y_batch = np.empty((batch_size, n_outputs), dtype=dtype)
    cdef floating[::1] weight_batch = np.empty(batch_size, dtype=dtype)
    cdef floating[::1] grad = np.empty(net.n_params, dtype=dtype)
    if dropout is not None and dropout.n_hidden != net.shape.n_layers - 1:
        raise ValueError(f"dropout has {dropout.n_hidden} rates, the network "
                         f"{net.shape.n_layers - 1} hidden layers")
    if not 1 <= n_parts <= MAX_PARTS:
        raise ValueError(f"n_parts must be in [1, {MAX_PARTS}], got {n_parts}")
    cdef BatchParts batch_parts = BatchParts(net, dtype, batch_size, n_parts, dropout)
    cdef const unsigned char *label_data = NULL
    cdef const void *value_data = NULL
    if labels:
        label_data = &Y_labels[0, 0]
    else:
        value_data = &Y_values[0, 0]
    batch_parts.point_at(shape, inputs, &params[0], label_data, value_data, &grad[0])
    # The gradient finish and the optimizer step run over step_ranges ranges
    # of the flat vector, however many threads there are (the L2 term sums
    # the ranges' squares, so its rounding too is the same on any threads).
    cdef Py_ssize_t n_ranges = step_ranges(n_parts, net.n_params)
    range_buffer = np.zeros(n_ranges * sizeof(ParamRange), dtype=np.uint8)
    cdef ParamRange *ranges = <ParamRange *> cnp.PyArray_DATA(range_buffer)
    for i in range(n_ranges):
        ranges[i].shape = shape
        ranges[i].step = &step.step
        ranges[i].params = &params[0]
        ranges[i].grads = batch_parts.grads
        ranges[i].moment_1 = &moment_1[0]
        ranges[i].moment_2 = &moment_2[0] if moment_2 is not None else NULL
        ranges[i].start = i * net.n_params // n_ranges
        ranges[i].end = (i + 1) * net.n_params // n_ranges

    cdef EpochRun run
    memset(&run, 0, sizeof(run))
    run.sample_order = &sample_order[0]
    run.start = start
    run.stop = stop
    run.batch_size = batch_size
    run.weights = &sample_weight[0] if sample_weight is not None else NULL
    run.weight_batch = &weight_batch[0]
    run.x_batch = &x_batch[0, 0]
    run.y_batch = &y_batch[0, 0]
    run.parts = batch_parts.parts
    run.n_parts = batch_parts.n_parts
    run.ranges = ranges
    run.n_ranges = n_ranges
    run.step = &step.step
    run.dropout = &dropout.state if dropout is not None else NULL
    run.loss_sum = loss_sum
    # Batches too short to be cut leave the team out, the step included, as
    # fits do (HelperThreadChoice.for_training offers no team for them).
    cdef bint uses_team = batch_parts.n_parts > 1 and threads is not None
    if uses_team:
        run.team = threads.acquire()
    try:
        with nogil:
            train_batches(&run, &params[0])
    finally:
        if uses_team:
            threads.release()
    if run.zero_weight_sum:
        raise ZeroDivisionError(ZERO_WEIGHT_SUM_MESSAGE)
    return run.loss_sum


def forward(Network net,
            X,                           # IN
            const floating[::1] params,  # IN
            bint require_finite=False,
            ThreadTeam threads=None):
    """Network output for every row of X, in row chunks.

    Dense X of one row takes one_row_matmul's products (no BLAS, the large
    ones in two halves), the second half on the first helper of ``threads``
    or not, with the same result.

    Parameters
    ----------
    net : Network
    X : ndarray of shape (n_samples, n_features) or CSR matrix, params' dtype
    params : ndarray of shape (n_params,)
    require_finite : bool, default=False
        Check first that dense X holds no NaN or infinity, and return None
        if it does (the caller's validation then reports it).  Costs a pass
        over X; a separate numpy check costs more on a few rows.
    threads : ThreadTeam or None, default=None

    Returns
    -------
    out : ndarray of shape (n_samples, n_outputs), params' dtype, or None
    """
    dtype = np.float64 if floating is double else np.float32
    cdef InputMatrix inputs = InputMatrix(X, dtype)
    cdef Py_ssize_t n_samples = inputs.n_rows
    net.check_sizes(inputs.n_features, -1, params.shape[0])
    if require_finite and not inputs.is_sparse and not all_finite(
            <const floating *> inputs.dense_data, n_samples * inputs.n_features):
        return None
    cdef const NetShape *shape = &net.shape
    cdef Py_ssize_t n_layers = shape.n_layers
    cdef Py_ssize_t chunk = net.chunk_rows(n_samples)
    net.check_rows(chunk)
    out_array = np.empty((n_samples, shape.units[n_layers]), dtype=dtype)
    if n_samples == 0:
        return out_array
    cdef const floating *x_data = <const floating *> inputs.dense_data
    cdef SparseRows sparse_rows = inputs.sparse_rows
    cdef SparseRows *sparse = &sparse_rows if inputs.is_sparse else NULL
    cdef floating[:, ::1] out = out_array
    workspace = np.empty(net.workspace_size(chunk, False), dtype=dtype)
    cdef LayerPointers pointers = LayerPointers(n_layers)
    carve_workspace(shape, workspace, chunk, pointers.activations, pointers.deltas, NULL)
    cdef floating **activations = <floating **> pointers.activations
    cdef Py_ssize_t start = 0, n_rows
    cdef SplitProducts split_products
    cdef SplitProducts *split = NULL
    if not inputs.is_sparse and n_samples == 1:
        scratch = np.empty(split_scratch_size(shape, sizeof(floating)), dtype=dtype)
        split_products.scratch = split_scratch(cnp.PyArray_DATA(scratch))
        split_products.team = NULL
        split = &split_products
    cdef bint uses_team = split != NULL and threads is not None
    if uses_team:
        split_products.team = threads.acquire()
    try:
        with nogil:
            while start < n_samples:
                n_rows = min(chunk, n_samples - start)
                select_input_rows(activations, sparse, x_data, start, inputs.n_features)
                activations[n_layers] = &out[start, 0]
                forward_layers(shape, &params[0], activations, NULL, n_rows, sparse, NULL,
                               split)
                start += n_rows
    finally:
        if uses_team:
            threads.release()
    return out_array


def loss_gradient(Network net,
                  X,                                       # IN
                  const floating[:, ::1] Y,                # IN
                  const floating[::1] params,              # IN
                  floating[::1] grad,                      # OUT
                  const floating[::1] sample_weight=None,  # IN
                  ThreadTeam threads=None,
                  Py_ssize_t n_parts=2):
    """Loss of all of (X, Y) as one batch, and its gradient into grad.

    The loss is scikit-learn's: the (weighted) mean data loss plus
    ``alpha/2 * ||W||^2 / weight_sum``.  Rows are processed in chunks that
    reuse one workspace, each chunk cut into parts like a training batch
    (parts_of_batch), on the threads of ``threads`` or not, with the same
    result.

    Parameters
    ----------
    net : Network
    X : ndarray of shape (n_samples, n_features) or CSR matrix, params' dtype
    Y : ndarray of shape (n_samples, n_outputs)
    params : ndarray of shape (n_params,)
    grad : ndarray of shape (n_params,)
        Overwritten with the gradient of the loss.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
    threads : ThreadTeam or None, default=None
    n_parts : int, default=2
        The most parts a chunk is cut into; the result depends on it in its
        last bits, not on the threads.

    Returns
    -------
    loss : float
    """
    dtype = np.float64 if floating is double else np.float32
    cdef InputMatrix inputs = InputMatrix(X, dtype)
    cdef Py_ssize_t n_samples = inputs.n_rows
    net.check_sizes(inputs.n_features, Y.shape[1], params.shape[0])
    if Y.shape[0] != n_samples:
        raise ValueError("X and Y must have the same number of rows")
    if grad.shape[0] != net.n_params:
        raise ValueError(f"grad has {grad.shape[0]} entries, the network has {net.n_params}")
    if n_samples == 0:
        raise ValueError("the loss of zero samples is undefined")
    cdef double weight_sum = rows_weight_sum(sample_weight, n_samples)
    cdef Py_ssize_t chunk = net.chunk_rows(n_samples)
    net.check_rows(chunk)
    cdef const floating *weights_ptr = NULL
    if sample_weight is not None:
        weights_ptr = &sample_weight[0]
    if not 1 <= n_parts <= MAX_PARTS:
        raise ValueError(f"n_parts must be in [1, {MAX_PARTS}], got {n_parts}")
    cdef const NetShape *shape = &net.shape
    cdef BatchParts batch_parts = BatchParts(net, dtype, chunk, n_parts)
    batch_parts.point_at(shape, inputs, &params[0], NULL, &Y[0, 0], &grad[0])
    cdef BatchPart *parts = batch_parts.parts
    cdef mlpf_part_fn compute = compute_part_f64 if floating is double else compute_part_f32
    cdef mlpf_team *team = NULL   # NULL: the parts run here in turn
    cdef bint uses_team = batch_parts.n_parts > 1 and threads is not None
    if uses_team:
        team = threads.acquire()
    cdef double loss_sum = 0.0, chunk_loss
    # Chunks are as long as the first one but the last, so a part that
    # computes any chunk computes the first: it adds to its gradient from
    # the second chunk on.
    cdef Py_ssize_t start = 0, n_rows, used, parts_used = 1, i

    try:
        with nogil:
            refresh_transposed(shape, &params[0], parts[0].transposed_coefs)
            while start < n_samples:
                n_rows = min(chunk, n_samples - start)
                used = parts_of_batch(n_rows, batch_parts.n_parts)
                for i in range(used):
                    set_part_chunk(&parts[i], start + part_start(n_rows, used, i),
                                   part_start(n_rows, used, i + 1) - part_start(n_rows, used, i),
                                   weights_ptr, start > 0)
                if used == 1:
                    compute(parts, 0)
                else:
                    run_parts(team, compute, parts, used)
                chunk_loss = parts[0].loss_sum
                for i in range(1, used):
                    chunk_loss += parts[i].loss_sum
                loss_sum += chunk_loss
                parts_used = max(parts_used, used)
                start += n_rows
            for i in range(1, parts_used):
                add_into(&grad[0], <const floating *> parts[i].grad, net.n_params)
            loss_sum = loss_sum / weight_sum + finish_gradient(shape, &params[0], &grad[0],
                                                               weight_sum)
    finally:
        if uses_team:
            threads.release()
    return loss_sum


def outputs_loss(Network net,
                 const floating[:, ::1] out,              # IN
                 const floating[:, ::1] Y,                # IN
                 const floating[::1] params,              # IN
                 const floating[::1] sample_weight=None):  # IN
    """scikit-learn's loss of network outputs already computed (``forward``).

    The loss loss_gradient computes for the rows these outputs are of,
    without the backward pass: the (weighted) mean data loss plus
    ``alpha/2 * ||W||^2 / weight_sum`` (up to the order in which row losses
    are summed).  For early stopping's validation rows, whose outputs the
    validation score needs anyway.

    Parameters
    ----------
    net : Network
    out : ndarray of shape (n_samples, n_outputs)
        The network's output for the rows under ``params``.
    Y : ndarray of shape (n_samples, n_outputs)
    params : ndarray of shape (n_params,)
    sample_weight : ndarray of shape (n_samples,) or None, default=None

    Returns
    -------
    loss : float
    """
    cdef Py_ssize_t n_samples = out.shape[0], n_outputs = out.shape[1]
    net.check_sizes(net.shape.units[0], n_outputs, params.shape[0])
    if Y.shape[0] != n_samples or Y.shape[1] != n_outputs:
        raise ValueError(f"Y has shape {tuple(Y.shape)[:2]}, the outputs "
                         f"{(n_samples, n_outputs)}")
    if n_samples == 0:
        raise ValueError("the loss of zero samples is undefined")
    cdef double weight_sum = rows_weight_sum(sample_weight, n_samples)
    cdef const floating *weights_ptr = NULL
    if sample_weight is not None:
        weights_ptr = &sample_weight[0]
    # The loss kernel writes the output deltas too: into a chunk of scratch.
    cdef Py_ssize_t chunk = max(1, min(n_samples, MAX_CHUNK_ROWS))
    cdef floating[::1] unused_delta = np.empty(chunk * n_outputs, dtype=np.asarray(out).dtype)
    cdef const NetShape *shape = &net.shape
    cdef double loss_sum = 0.0
    cdef Py_ssize_t start = 0, n_rows
    with nogil:
        while start < n_samples:
            n_rows = min(chunk, n_samples - start)
            loss_sum += loss_and_output_delta(
                &out[start, 0], &Y[start, 0],
                weights_ptr + start if weights_ptr != NULL else NULL,
                &unused_delta[0], n_rows, n_outputs, shape.loss, shape.loss_parameter)
            start += n_rows
        loss_sum = loss_sum / weight_sum + l2_loss_term(shape, &params[0], weight_sum)
    return loss_sum


cdef extern from "mlpfast_vecmath.h" nogil:
    void mlpf_exp_inplace_f64(double *x, Py_ssize_t n)
    void mlpf_tanh_inplace_f64(double *x, Py_ssize_t n)
    void mlpf_logistic_inplace_f64(double *x, Py_ssize_t n)
    void mlpf_expm1_inplace_f64(double *x, Py_ssize_t n)
    void mlpf_log1p_inplace_f64(double *x, Py_ssize_t n)
    void mlpf_erf_inplace_f64(double *x, Py_ssize_t n)
    void mlpf_erfc_inplace_f64(double *x, Py_ssize_t n)
    void mlpf_exp_inplace_f32(float *x, Py_ssize_t n)
    void mlpf_tanh_inplace_f32(float *x, Py_ssize_t n)
    void mlpf_logistic_inplace_f32(float *x, Py_ssize_t n)
    void mlpf_expm1_inplace_f32(float *x, Py_ssize_t n)
    void mlpf_log1p_inplace_f32(float *x, Py_ssize_t n)
    void mlpf_erf_inplace_f32(float *x, Py_ssize_t n)
    void mlpf_erfc_inplace_f32(float *x, Py_ssize_t n)

ctypedef void (*vecmath_f64)(double *x, Py_ssize_t n) noexcept nogil
ctypedef void (*vecmath_f32)(float *x, Py_ssize_t n) noexcept nogil

# Not used by the kernels: src_c/vecmath.c's functions one by one, for
# tests/test_vecmath.py (some are not, or not yet, behind an activation).
cdef dict VECMATH_F64 = {
    "exp": <size_t> mlpf_exp_inplace_f64, "tanh": <size_t> mlpf_tanh_inplace_f64,
    "logistic": <size_t> mlpf_logistic_inplace_f64, "expm1": <size_t> mlpf_expm1_inplace_f64,
    "log1p": <size_t> mlpf_log1p_inplace_f64, "erf": <size_t> mlpf_erf_inplace_f64,
    "erfc": <size_t> mlpf_erfc_inplace_f64,
}
cdef dict VECMATH_F32 = {
    "exp": <size_t> mlpf_exp_inplace_f32, "tanh": <size_t> mlpf_tanh_inplace_f32,
    "logistic": <size_t> mlpf_logistic_inplace_f32, "expm1": <size_t> mlpf_expm1_inplace_f32,
    "log1p": <size_t> mlpf_log1p_inplace_f32, "erf": <size_t> mlpf_erf_inplace_f32,
    "erfc": <size_t> mlpf_erfc_inplace_f32,
}


def vecmath_inplace(str name, floating[::1] x):
    """Apply mlpf_<name>_inplace_f64/_f32 (src_c/mlpfast_vecmath.h) to x in place.

    For tests; name is one of exp, tanh, logistic, expm1, log1p, erf, erfc.
    """
    cdef size_t address = (VECMATH_F64 if floating is double else VECMATH_F32)[name]
    cdef Py_ssize_t n = x.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is double:
            (<vecmath_f64> address)(&x[0], n)
        else:
            (<vecmath_f32> address)(&x[0], n)


# ----------------------------------------------------------------------
# Calls on few rows: a streaming partial_fit block's finiteness check, and
# predict on a handful of rows.  What the general kernels cost around their
# numeric work (Python objects for the input and the layer tables, a
# workspace array) is as much as a small network's forward pass on one row
# (bench/MEASUREMENTS.md, 'Per-call costs of streaming').
# ----------------------------------------------------------------------

# The most rows forward_few_rows takes: its workspace is allocated with
# malloc, not as an array, and is small.
FEW_ROWS = 32


cdef inline void check_float_matrix(cnp.ndarray X, str name) except *:
    """Raise ValueError unless X is a 2-D C-contiguous float32 or float64 array."""
    if (cnp.PyArray_NDIM(X) != 2 or not cnp.PyArray_IS_C_CONTIGUOUS(X)
            or cnp.PyArray_TYPE(X) not in (cnp.NPY_FLOAT64, cnp.NPY_FLOAT32)
            or not cnp.PyArray_ISNOTSWAPPED(X)):
        raise ValueError(f"{name} must be a 2-D C-contiguous float32 or float64 array")


def all_finite_matrix(cnp.ndarray X not None):
    """Whether X holds no NaN and no infinity.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_columns), C-contiguous, float32 or float64

    Returns
    -------
    finite : bool
    """
    check_float_matrix(X, "X")
    cdef Py_ssize_t size = cnp.PyArray_SIZE(X)
    cdef const void *data = data_pointer(X)
    cdef bint finite
    with nogil:
        if cnp.PyArray_TYPE(X) == cnp.NPY_FLOAT64:
            finite = all_finite(<const double *> data, size)
        else:
            finite = all_finite(<const float *> data, size)
    return finite


cdef void forward_rows(const NetShape *net, const floating *params, const floating *x,
                       floating *workspace, void **activations, floating *out,
                       Py_ssize_t n_rows, SplitProducts *split) noexcept nogil:
    """forward_layers over n_rows dense rows x into out, the hidden layers'
    activations in workspace (n_rows rows of each) followed by split's
    scratch when split is not NULL (one row), activations a table of
    n_layers + 1 pointers."""
    cdef Py_ssize_t l
    activations[0] = <void *> x
    for l in range(1, net.n_layers):
        activations[l] = workspace
        workspace += n_rows * net.units[l]
    activations[net.n_layers] = out
    if split != NULL:
        split.scratch = split_scratch(workspace)
    forward_layers(net, params, <floating **> activations, NULL, n_rows, NULL, NULL, split)


def forward_few_rows(Network net, cnp.ndarray X not None, cnp.ndarray params not None,
                     bint require_finite=False, ThreadTeam threads=None):
    """``forward`` for dense X of at most FEW_ROWS rows, without its per-call objects.

    Computes exactly what ``forward`` computes for the same rows (the same
    products over the same rows, one chunk), on the first helper of
    ``threads`` or not.

    Parameters
    ----------
    net : Network
    X : ndarray of shape (n_samples, n_features), C-contiguous, params' dtype
        1 to FEW_ROWS rows.
    params : ndarray of shape (n_params,), C-contiguous, float32 or float64
    require_finite : bool, default=False
        Return None if X holds NaN or infinity, as ``forward`` does.
    threads : ThreadTeam or None, default=None

    Returns
    -------
    out : ndarray of shape (n_samples, n_outputs), params' dtype, or None
    """
    check_float_matrix(X, "X")
    cdef int typenum = cnp.PyArray_TYPE(X)
    if (cnp.PyArray_NDIM(params) != 1 or not cnp.PyArray_IS_C_CONTIGUOUS(params)
            or cnp.PyArray_TYPE(params) != typenum or not cnp.PyArray_ISNOTSWAPPED(params)):
        raise ValueError("params must be a C-contiguous vector of X's dtype")
    cdef Py_ssize_t n_rows = cnp.PyArray_DIM(X, 0)
    if not 1 <= n_rows <= FEW_ROWS:
        raise ValueError(f"X must have 1 to {FEW_ROWS} rows, got {n_rows}")
    net.check_sizes(cnp.PyArray_DIM(X, 1), -1, cnp.PyArray_DIM(params, 0))
    if net.chunk_rows(n_rows) < n_rows:
        # A network so wide that forward cuts even these rows into chunks:
        # its chunks, for the same products.
        return forward(net, X, params, require_finite, threads)
    net.check_rows(n_rows)
    cdef const NetShape *shape = &net.shape
    cdef const void *x = data_pointer(X)
    cdef bint is_double = typenum == cnp.NPY_FLOAT64, finite
    if require_finite:
        with nogil:
            if is_double:
                finite = all_finite(<const double *> x, n_rows * shape.units[0])
            else:
                finite = all_finite(<const float *> x, n_rows * shape.units[0])
        if not finite:
            return None
    cdef cnp.npy_intp out_dims[2]
    out_dims[0] = n_rows
    out_dims[1] = shape.units[shape.n_layers]
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(2, out_dims, typenum, 0)
    cdef Py_ssize_t hidden_size = 0, l
    for l in range(1, shape.n_layers):
        hidden_size += n_rows * shape.units[l]
    cdef SplitProducts split
    cdef SplitProducts *split_ptr = NULL
    cdef bint uses_team = n_rows == 1 and threads is not None
    split.team = NULL
    if n_rows == 1:
        hidden_size += split_scratch_size(shape, cnp.PyArray_ITEMSIZE(X))
        split_ptr = &split
    if uses_team:
        split.team = threads.acquire()
    cdef void **activations = <void **> malloc((shape.n_layers + 1) * sizeof(void *))
    cdef void *workspace = malloc(max(hidden_size, 1) * cnp.PyArray_ITEMSIZE(X))
    if activations == NULL or workspace == NULL:
        free(activations)
        free(workspace)
        if uses_team:
            threads.release()
        raise MemoryError("cannot allocate the forward pass's workspace")
    cdef const void *coefs = data_pointer(params)
    cdef void *out_data = cnp.PyArray_DATA(out)
    with nogil:
        if is_double:
            forward_rows(shape, <const double *> coefs, <const double *> x,
                         <double *> workspace, activations, <double *> out_data, n_rows,
                         split_ptr)
        else:
            forward_rows(shape, <const float *> coefs, <const float *> x,
                         <float *> workspace, activations, <float *> out_data, n_rows,
                         split_ptr)
    if uses_team:
        threads.release()
    free(activations)
    free(workspace)
    return out


cdef void first_max_columns(const floating *values, Py_ssize_t n_rows, Py_ssize_t n_columns,
                            intp_t *columns) noexcept nogil:
    """numpy's argmax along each row: the first maximum, or the first NaN."""
    cdef Py_ssize_t i, j, best
    cdef const floating *row
    for i in range(n_rows):
        row = values + i * n_columns
        best = 0
        if row[0] == row[0]:
            for j in range(1, n_columns):
                if not row[j] <= row[best]:
                    best = j
                    if row[j] != row[j]:
                        break
        columns[i] = best


def row_argmax(cnp.ndarray values not None):
    """``values.argmax(axis=1)``, without numpy's reduction machinery.

    On one row of a network whose weights nearly fill the L2 cache,
    ``argmax`` took over a microsecond, as long as the rest of ``predict``
    around the forward pass (bench/MEASUREMENTS.md, 'Per-call costs of
    streaming').

    Parameters
    ----------
    values : ndarray of shape (n_rows, n_columns), C-contiguous, float32 or float64
        At least one column.

    Returns
    -------
    columns : ndarray of shape (n_rows,), intp
        The column of each row's first maximum; of its first NaN if it has one.
    """
    check_float_matrix(values, "values")
    cdef Py_ssize_t n_rows = cnp.PyArray_DIM(values, 0), n_columns = cnp.PyArray_DIM(values, 1)
    if n_columns == 0:
        raise ValueError("values must have at least one column")
    cdef cnp.npy_intp dims[1]
    dims[0] = n_rows
    cdef cnp.ndarray columns = cnp.PyArray_EMPTY(1, dims, cnp.NPY_INTP, 0)
    cdef const void *data = data_pointer(values)
    cdef intp_t *out = <intp_t *> cnp.PyArray_DATA(columns)
    with nogil:
        if cnp.PyArray_TYPE(values) == cnp.NPY_FLOAT64:
            first_max_columns(<const double *> data, n_rows, n_columns, out)
        else:
            first_max_columns(<const float *> data, n_rows, n_columns, out)
    return columns
