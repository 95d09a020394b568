<?php
$MESS['LOOKALIKE_SYNC_MENU'] = 'lookalike: отправить каталог';
$MESS['LOOKALIKE_SYNC_MENU_TITLE'] = 'Отправить весь каталог в сервис поиска по фото';
