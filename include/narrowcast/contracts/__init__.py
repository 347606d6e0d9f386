"""The bottom layer: the shared contracts every other package builds on, depending on nothing of Narrowcast.

Windows and pages (what a source yields), the extractor context (how the runner calls every source), table
declarations (what a raw table is), timestamp and money parsing, SQL identifier quoting and redaction.
Anything here may be imported from anywhere; nothing here imports another Narrowcast package
(``tests/unit/test_package_boundaries.py`` walks the imports).
"""
