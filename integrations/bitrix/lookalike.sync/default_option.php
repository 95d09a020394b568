<?php
// Defaults of the module's options (Bitrix reads them for options never saved).
$lookalike_sync_default_option = array(
    'url' => '',
    'shop_id' => '0',
    'site_url' => '',
    'iblock_ids' => '',
    'height_property' => 'HEIGHT',
    'photo_fields' => 'DETAIL_PICTURE,PREVIEW_PICTURE,MORE_PHOTO',
    'more_photo_property' => 'MORE_PHOTO',
    'offers' => 'Y',
    'price_group_id' => '0',
    'max_photos' => '10',
    'outbox_dir' => '', // lookalike-outbox beside the document root
);
