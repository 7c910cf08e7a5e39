/*
 * The activation and loss tables: the one list of what the kernels know.
 *
 * Everything else is generated from these two X-macro lists: the enums
 * (codes are the positions in the lists), the names the Python layer reads
 * at import (mlpfast._activations checks its own facts against them), and
 * the dispatch switches in elementwise_impl.h.  A line here must come with
 * its kernels there; a missing kernel is a build error, since the switches
 * name every kernel of every line.
 *
 * Adding an activation: one MLPF_ACTIVATIONS line, its forward_NAME kernel
 * (and derivative_NAME, unless it keeps its derivative) in elementwise_impl.h, and one entry in
 * mlpfast/_activations.py (README, "Development", says more).  Adding a
 * loss: one MLPF_LOSSES line, its loss_term_NAME and loss_scale_NAME
 * kernels there, and one LossFacts entry in mlpfast/_activations.py.
 */
#ifndef MLPFAST_TABLES_H
#define MLPFAST_TABLES_H

/*
 * X(NAME, name, roles, keeps_derivative)
 *   NAME, name   enum suffix (MLPF_NAME) and kernel suffix / Python name
 *   roles        MLPF_HIDDEN: a hidden layer may use it (its derivative is
 *                  back-propagated); MLPF_OUTPUT_ONLY: only as the output
 *                  activation of a loss (the loss gives the output delta,
 *                  so it has no derivative kernel)
 *   keeps_derivative
 *                1 when f'(z) cannot be written from a = f(z) alone to a
 *                few ulps (ELU, GELU, SiLU, softplus: elementwise_impl.h
 *                says why for each): the forward pass of a hidden layer
 *                then computes f'(z) next to f(z), from the intermediate
 *                values they share, and keeps it for the backward pass,
 *                which multiplies by it (no transcendental function left
 *                there); 0: the backward pass's derivative_NAME works from
 *                a alone, and nothing is kept
 *
 * The order fixes the codes; it is also the order of the enum that saved
 * models never store (they store names), so it may change freely.
 */
#define MLPF_ACTIVATIONS(X)                          \
    X(IDENTITY, identity, MLPF_HIDDEN, 0)            \
    X(LOGISTIC, logistic, MLPF_HIDDEN, 0)            \
    X(TANH, tanh, MLPF_HIDDEN, 0)                    \
    X(RELU, relu, MLPF_HIDDEN, 0)                    \
    X(LEAKY_RELU, leaky_relu, MLPF_HIDDEN, 0)        \
    X(ELU, elu, MLPF_HIDDEN, 1)                      \
    X(GELU, gelu, MLPF_HIDDEN, 1)                    \
    X(SILU, silu, MLPF_HIDDEN, 1)                    \
    X(SOFTPLUS, softplus, MLPF_HIDDEN, 1)            \
    X(SOFTMAX, softmax, MLPF_OUTPUT_ONLY, 0)         \
    X(EXP, exp, MLPF_OUTPUT_ONLY, 0)

/*
 * X(NAME, name, OUTPUT, is_default, has_parameter)
 *   NAME, name   enum suffix (MLPF_NAME_LOSS) and kernel suffix / Python name
 *   OUTPUT       the output activation the loss goes with: with it, the
 *                loss's gradient with respect to the output pre-activation
 *                is the loss kernel's own gradient term
 *   is_default   1 for the loss a network with output activation OUTPUT
 *                trains with when no loss is named (the classifier's
 *                losses, scikit-learn's regression losses); each output
 *                activation has exactly one (mlpfast._activations checks),
 *                the others are used only by name
 *   has_parameter
 *                1 when loss_term_NAME reads its `parameter` (a positive
 *                number: Huber's delta); 0 when it ignores it
 */
#define MLPF_LOSSES(X)                                   \
    X(SQUARED_ERROR, squared_error, IDENTITY, 1, 0)      \
    X(LOG_LOSS, log_loss, SOFTMAX, 1, 0)                 \
    X(BINARY_LOG_LOSS, binary_log_loss, LOGISTIC, 1, 0)  \
    X(POISSON, poisson, EXP, 1, 0)                       \
    X(HUBER, huber, IDENTITY, 0, 1)

enum mlpf_activation_role { MLPF_HIDDEN = 1, MLPF_OUTPUT_ONLY = 2 };

#define MLPF_ACTIVATION_ENUM_(NAME, name, roles, keeps) MLPF_##NAME,
enum mlpf_activation { MLPF_ACTIVATIONS(MLPF_ACTIVATION_ENUM_) MLPF_N_ACTIVATIONS };
#undef MLPF_ACTIVATION_ENUM_

#define MLPF_LOSS_ENUM_(NAME, name, OUTPUT, is_default, has_parameter) MLPF_##NAME##_LOSS,
enum mlpf_loss { MLPF_LOSSES(MLPF_LOSS_ENUM_) MLPF_N_LOSSES };
#undef MLPF_LOSS_ENUM_

/* What the Python layer reads of the tables (defined in elementwise.c). */
extern const char *const mlpf_activation_names[MLPF_N_ACTIVATIONS];
extern const int mlpf_activation_roles[MLPF_N_ACTIVATIONS];
extern const int mlpf_activation_keeps_derivative[MLPF_N_ACTIVATIONS];
extern const char *const mlpf_loss_names[MLPF_N_LOSSES];
extern const int mlpf_loss_outputs[MLPF_N_LOSSES];
extern const int mlpf_loss_is_default[MLPF_N_LOSSES];
extern const int mlpf_loss_has_parameter[MLPF_N_LOSSES];

/*
 * Called by a dispatch switch on a code outside its table: prints what and
 * which code to stderr and aborts.  The Python layer maps names to codes
 * through the tables, so reaching it means a kernel was called wrongly.
 */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn))
#elif defined(_MSC_VER)
__declspec(noreturn)
#endif
void mlpf_unknown_code(const char *table, int code);

#endif /* MLPFAST_TABLES_H */
