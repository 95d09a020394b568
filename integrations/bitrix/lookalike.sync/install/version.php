<?php
$arModuleVersion = array(
    'VERSION' => '1.1.0',
    'VERSION_DATE' => '2026-12-02 00:00:00',
);
