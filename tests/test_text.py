import pytest
import torch

from cvkit.core.text import EMBEDDING_DIM, embed_sentences, sentence_encoder


def test_sentence_embeddings_are_unit_vectors_and_paraphrases_are_close():
    e = embed_sentences(["a person walks forward", "someone is walking ahead", "a person kicks with the left leg"])
    assert e.shape == (3, EMBEDDING_DIM) and e.dtype == torch.float32
    assert torch.allclose(e.norm(dim=1), torch.ones(3), atol=1e-5)
    assert e[0] @ e[1] > e[0] @ e[2]
    assert sentence_encoder() is sentence_encoder()  # loaded once per process


def test_sentence_embeddings_bad_input():
    with pytest.raises(ValueError, match="non-empty"):
        embed_sentences([])
    with pytest.raises(ValueError, match="non-empty"):
        embed_sentences(["a person walks", "  "])
