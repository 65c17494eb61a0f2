"""Every chosen model over one image folder, one after another, then the paper's table of them all.

No Textual here: `fashionfail-tui compare` and the Compare screen both drive this package.

    plan = make_plan(chosen_models("all"), images, out_dir, config)   # who runs, who is reused, who is skipped
    queue = CompareQueue(plan, config)
    for event in queue.events():                                       # ends with one QueueEnded
        ...
    queue.cancel()                                                     # from any thread
    written = write_comparison(ended.finished, evaluator, images, out_dir, config)  # failed listed, not raised
"""
