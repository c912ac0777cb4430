VALUE = "vcs"
