// The staff console's script: only the pages that need one start anything.
import { startMap } from '../console/map.js';
import { startLive } from '../console/live.js';
import { startPhotoUpload } from '../console/photo.js';

const mapRoot = document.getElementById('map-page');
if (mapRoot) startMap(mapRoot);
const liveRoot = document.getElementById('live-page');
if (liveRoot) startLive(liveRoot);
const photoRoot = document.getElementById('photo-upload');
if (photoRoot) startPhotoUpload(photoRoot);
