<?php
$MESS['LOOKALIKE_SYNC_MODULE_NAME'] = 'lookalike: поиск по фото';
$MESS['LOOKALIKE_SYNC_MODULE_DESCRIPTION'] = 'Отправляет изменения товаров каталога (цена, наличие, фото, удаление) в сервис визуального поиска lookalike.';
$MESS['LOOKALIKE_SYNC_PARTNER_NAME'] = 'lookalike';
$MESS['LOOKALIKE_SYNC_NEEDS_PHP'] = 'Нужен PHP 7.4 или новее (сейчас #VERSION#).';
$MESS['LOOKALIKE_SYNC_NEEDS_IBLOCK'] = 'Нужен модуль «Информационные блоки» (iblock).';
$MESS['LOOKALIKE_SYNC_INSTALL_TITLE'] = 'Установка модуля lookalike';
$MESS['LOOKALIKE_SYNC_UNINSTALL_TITLE'] = 'Удаление модуля lookalike';
