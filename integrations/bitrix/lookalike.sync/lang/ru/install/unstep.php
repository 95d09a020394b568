<?php
$MESS['LOOKALIKE_SYNC_UNINSTALLED'] = 'Модуль удалён: обработчики, агент, настройки и очередь удалены.';
$MESS['LOOKALIKE_SYNC_DROPPED'] = 'Не отправлено и удалено из очереди изменений: #COUNT#.';
$MESS['LOOKALIKE_SYNC_BACK'] = 'Вернуться в список';
