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


def test_token_states_pool_to_the_sentence_vector_and_are_cached():
    from cvkit.core.text import _TOKEN_CACHE, embed_tokens
    texts = ["a red star moves left, then a fish grows.", "a fish grows, then a red star moves left.", "two objects."]
    states, mask = embed_tokens(texts)
    assert states.shape[0] == 3 and states.shape[2] == EMBEDDING_DIM and mask.dtype == torch.bool
    assert mask.sum(1).tolist()[2] < mask.sum(1).tolist()[0] and bool((states[~mask] == 0).all())
    pooled = torch.nn.functional.normalize((states * mask[..., None]).sum(1) / mask.sum(1, keepdim=True), dim=-1)
    assert torch.allclose(pooled, embed_sentences(texts), atol=1e-4)
    assert all(t in _TOKEN_CACHE for t in texts)
    alone, m1 = embed_tokens(texts[2:], length=20)  # a text's states do not depend on its batch or the padding
    assert alone.shape == (1, 20, EMBEDDING_DIM) and torch.allclose(alone[0][m1[0]], states[2][mask[2]], atol=1e-5)
    with pytest.raises(ValueError, match="shorter"):
        embed_tokens(texts, length=3)
    with pytest.raises(ValueError, match="non-empty"):
        embed_tokens(["fine", ""])
