<?php
$MESS['LOOKALIKE_SEARCH_BUTTON_NAME'] = 'Поиск по фото (кнопка)';
$MESS['LOOKALIKE_SEARCH_BUTTON_DESCRIPTION'] = 'Кнопка «Найти по фото» с окном поиска похожих букетов lookalike';
$MESS['LOOKALIKE_SEARCH_BUTTON_PATH'] = 'lookalike';
