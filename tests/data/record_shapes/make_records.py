"""Records built the way the runner builds them (answer_key + score_detail), for every task, language and a few
answers; written one JSON line each exactly as ResultsStore.append writes them."""
import json, sys
from haystacks.builder import CellSpec
from haystacks.tasks import get_task, grade_answer, task_names
from evals.record import ResultRecord

def spec_for(task, **over):
    t = get_task(task)
    fields = {"task": task, **t.cell_params(t.example_options())}
    fields.update(over)
    return CellSpec(**fields)

def records():
    for task in task_names():
        for lang in ("zh", "en"):
            try:
                s = spec_for(task, language=lang, seed=3)
                key = get_task(task).plan(s).answer_key(task, s.language)
            except Exception as e:
                print("skip", task, lang, e, file=sys.stderr); continue
            answers = [" ".join(f.answer for f in key.expected), "I don't know.", "不知道",
                       " ".join(f.answer for f in key.decoys[:1]) or "42", key.changed_sentence or "x 1234567"]
            for i, ans in enumerate(answers):
                for cut in (False, True):
                    g, cut_off = grade_answer(get_task(task), ans, key, cut)
                    status = "truncated" if cut_off else "ok"
                    rec = ResultRecord(cell_id=f"{task}-{lang}-{i}-{cut}", model="m", task=task, language=lang,
                        length=1000, depth=50.0, question=key.question,
                        expected=[f.answer for f in key.expected], answer_key=key.to_dict(),
                        status=status, answer=ans, scored_answer=ans,
                        score=g.score if status == "ok" else None,
                        outcome=g.outcome if status == "ok" else "truncated", score_detail=g.detail())
                    yield json.dumps(rec.to_json(), ensure_ascii=False, separators=(",", ":"))

if __name__ == "__main__":
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        for line in records():
            f.write(line + "\n")
