"""The measuring room: tools that build planted data and measure wordcam, beside the pipeline.

``demo`` (the offline demo), ``bench`` (``wordcam bench``: cue recovery, faithfulness, CAM
throughput), ``suite`` (the planted-cue suite), ``verify_bench`` (the verification benchmark
on the demo), ``kinds_bench`` (the planted kinds benchmark: each test of its own claim),
``faithfulness`` (deletion, insertion, ROAD), ``synth`` (the planted-cue photo dataset) and
``synth_text`` (synthetic explanations for tests and benchmarks). They sit at the top of the
house: they may use every room; no room of the data path imports them.
"""
