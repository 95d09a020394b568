<?php
/**
 * The drop-in handler is one file, lookalike.sync/lib/lookalike.php (the
 * module lookalike.sync uses the same file): copy that one to the site, see
 * install.md. This file keeps the old path of a repository checkout working.
 */
require_once __DIR__ . '/lookalike.sync/lib/lookalike.php';
