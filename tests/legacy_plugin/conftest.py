"""Not collected: this skeleton's own tests need it installed, which test_legacy_plugin does."""

collect_ignore_glob = ["*"]
