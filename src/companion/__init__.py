"""companion: the recurrent cells of Chapter 5 as tested numpy reference code.

Step-level cells in the slides' notation (:mod:`companion.cells`), sequence
layers with torch.nn's shapes and a hand-written BPTT (:mod:`companion.layers`),
the slides' output head (:mod:`companion.head`), stable activations
(:mod:`companion.activations`), gradient checks (:mod:`companion.gradcheck`),
optimisers with torch.optim's rules (:mod:`companion.optim`, imported on its own)
and conversion to and from torch (:mod:`companion.interop`; torch is imported
only when a conversion runs, never by ``import companion``).
"""
from .activations import cross_entropy, log_softmax, relu, sigmoid, softmax, tanh
from .cells import (
    GRUStep,
    LSTMStep,
    RNNStep,
    gru_step,
    gru_step_backward,
    lstm_step,
    lstm_step_backward,
    rnn_step,
    rnn_step_backward,
)
from .gradcheck import check_layer_grads, numerical_grad, relative_error
from .head import OutputHead
from .interop import from_torch, to_torch
from .layers import GRU, LSTM, RNN

__version__ = "0.1.0"

__all__ = [
    "RNN", "LSTM", "GRU", "OutputHead", "from_torch", "to_torch",
    "sigmoid", "tanh", "relu", "softmax", "log_softmax", "cross_entropy",
    "rnn_step", "rnn_step_backward", "RNNStep", "lstm_step", "lstm_step_backward", "LSTMStep",
    "gru_step", "gru_step_backward", "GRUStep",
    "numerical_grad", "check_layer_grads", "relative_error",
]
