<?php
$MESS['LOOKALIKE_SYNC_MODULE_NAME'] = 'lookalike: поиск по фото';
$MESS['LOOKALIKE_SYNC_MODULE_DESCRIPTION'] = 'Отправляет изменения товаров каталога (цена, наличие, фото, удаление) в сервис визуального поиска lookalike.';
$MESS['LOOKALIKE_SYNC_PARTNER_NAME'] = 'lookalike';
$MESS['LOOKALIKE_SYNC_NEEDS_PHP'] = 'Нужен PHP 7.4 или новее (сейчас #VERSION#).';
$MESS['LOOKALIKE_SYNC_NEEDS_IBLOCK'] = 'Нужен модуль «Информационные блоки» (iblock).';
$MESS['LOOKALIKE_SYNC_OLD_DROPIN'] = 'Из /local/php_interface/init.php подключён старый lookalike.php: замените этот файл на lib/lookalike.php модуля (тогда при установке модуль заберёт его настройки) или удалите строки lookalike (и введите настройки заново).';
$MESS['LOOKALIKE_SYNC_INSTALL_TITLE'] = 'Установка модуля lookalike';
$MESS['LOOKALIKE_SYNC_UNINSTALL_TITLE'] = 'Удаление модуля lookalike';
