from moderation.models import ATTACK_ON_COMMENTER, OPEN_STATUSES, QUEUE_STATUSES, CommentScore, QueueStatus, all_scores


def test_all_scores_adds_the_attack_score_to_the_label_scores() -> None:
    labels = {"insult": 0.7}
    assert all_scores(labels, 0.4) == {"insult": 0.7, ATTACK_ON_COMMENTER: 0.4}
    assert labels == {"insult": 0.7}


def test_all_scores_without_an_attack_score_or_labels_leaves_nothing_out_and_adds_nothing() -> None:
    assert all_scores({"insult": 0.7}, None) == {"insult": 0.7}
    assert all_scores(None, None) == {}


def test_a_comment_score_merges_the_same_way() -> None:
    score = CommentScore(scores={"threat": 0.2}, attack_on_commenter=0.9)
    assert score.all_scores() == all_scores({"threat": 0.2}, 0.9)


def test_open_statuses_are_the_queue_statuses_that_wait_for_a_decision() -> None:
    assert set(OPEN_STATUSES) == {QueueStatus.PENDING, QueueStatus.ESCALATED}
    assert set(OPEN_STATUSES) <= set(QUEUE_STATUSES)
    assert QUEUE_STATUSES == ("pending", "approved", "rejected", "escalated")
