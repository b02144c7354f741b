from moderation.scoring.inference import length_batches


def test_length_batches_sort_by_length_and_keep_long_texts_in_small_batches() -> None:
    lengths = [5, 300, 7, 6, 290, 8, 310]
    batches = length_batches(lengths, max_texts=3, max_tokens=600)
    assert batches == [[0, 3, 2], [5, 4], [1], [6]]
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))


def test_a_text_longer_than_the_token_budget_still_gets_a_batch() -> None:
    assert length_batches([1000, 3], max_texts=8, max_tokens=100) == [[1], [0]]


def test_idle_cores_leaves_busy_cores_alone_but_never_drops_below_one() -> None:
    from moderation.scoring.inference import available_cores, idle_cores

    assert 1 <= idle_cores() <= available_cores()
