<?php
$MESS['LOOKALIKE_SYNC_ACCESS_DENIED'] = 'Доступ запрещён';
$MESS['LOOKALIKE_SYNC_BACKFILL_TITLE'] = 'lookalike: отправить весь каталог';
$MESS['LOOKALIKE_SYNC_BACKFILL_ABOUT'] = 'Отправляет все товары выбранных инфоблоков в lookalike, по 50 за шаг, через ту же очередь, что и обычные изменения: страницу можно закрыть, остаток доставит агент. Повторная отправка ничего не портит.';
$MESS['LOOKALIKE_SYNC_BACKFILL_START'] = 'Отправить весь каталог';
$MESS['LOOKALIKE_SYNC_BACKFILL_NO_IBLOCK'] = 'В настройках модуля не выбран ни один инфоблок каталога.';
$MESS['LOOKALIKE_SYNC_BACKFILL_SESSION'] = 'Сессия истекла: обновите страницу.';
$MESS['LOOKALIKE_SYNC_BACKFILL_PROGRESS'] = 'Отправлено #SENT# из #TOTAL#…';
$MESS['LOOKALIKE_SYNC_BACKFILL_DONE'] = 'Готово: отправлено #SENT# из #TOTAL#.';
$MESS['LOOKALIKE_SYNC_BACKFILL_WAITING'] = 'Все товары в очереди; ждут доставки: #WAITING# (агент отправит, когда сервис ответит: #ERROR#).';
$MESS['LOOKALIKE_SYNC_BACKFILL_FAILED'] = 'Остановлено: #ERROR#';
$MESS['LOOKALIKE_SYNC_STATUS_WAITING'] = 'Ждут отправки';
$MESS['LOOKALIKE_SYNC_BACKFILL_STALLED'] = 'Пауза: сервис не принимает изменения (#ERROR#); #WAITING# ждут агента. Продолжите, когда он ответит.';
$MESS['LOOKALIKE_SYNC_BACKFILL_RESUME'] = 'Продолжить';
