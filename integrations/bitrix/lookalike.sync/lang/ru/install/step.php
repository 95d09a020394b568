<?php
$MESS['LOOKALIKE_SYNC_INSTALL_FAILED'] = 'Модуль не установлен';
$MESS['LOOKALIKE_SYNC_INSTALLED'] = 'Модуль установлен: обработчики событий и агент доставки зарегистрированы.';
$MESS['LOOKALIKE_SYNC_GO_SETTINGS'] = 'Перейти к настройкам: адрес сервиса, секрет, инфоблоки';
$MESS['LOOKALIKE_SYNC_BACK'] = 'Вернуться в список';
