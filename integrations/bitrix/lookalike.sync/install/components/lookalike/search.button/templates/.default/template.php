<?php
if (!defined('B_PROLOG_INCLUDED') || B_PROLOG_INCLUDED !== true) {
    die();
}
/** @var array $arResult */
?>
<script src="<?= htmlspecialcharsbx($arResult['SCRIPT_URL']) ?>"<?php
foreach (array('SHOP_ID' => 'data-shop', 'LANG' => 'data-lang', 'MIN_BAND' => 'data-min-band') as $key => $attr) {
    if ($arResult[$key] !== '') {
        echo ' ', $attr, '="', htmlspecialcharsbx($arResult[$key]), '"';
    }
}
?> async></script>
