"""pr-agent's `/review` beside ours on the held-out sets (issue 18): the same pull requests, the
same model (Qwen2.5-Coder-1.5B-Instruct through `python -m llama_cpp.server`), the same scorer.

setup.sh makes the Python 3.12 virtualenv pr-agent 0.49.0 needs; run.py sends each case to it
and stores pr-agent's answer under bench/eval/answers-pragent/SET/CASE.json; score.py turns the
stored answers into an eval report row (no pr-agent, no model). CI only re-scores.
"""
