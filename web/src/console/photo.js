// The request's optional photo: the chosen file goes to the JSON API as it is (the server
// checks and re-encodes it); the page then shows it.
import { csrfToken, describeError } from './api.js';

export function startPhotoUpload(root) {
  const input = root.querySelector('#request-photo-file');
  const button = root.querySelector('#upload-photo');
  const status = root.querySelector('#photo-status');
  button.addEventListener('click', async () => {
    const file = input.files && input.files[0];
    if (!file) {
      status.textContent = 'Kies eerst een foto. / Choose a photo first.';
      return;
    }
    button.disabled = true;
    status.textContent = '…';
    try {
      const r = await fetch(`/api/v1/enquiries/${root.dataset.enquiry}/photo`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': file.type || 'application/octet-stream', 'X-CSRF-Token': csrfToken(), Accept: 'application/json' },
        body: file,
      });
      if (r.ok) {
        window.location.reload();
        return;
      }
      let data = null;
      try {
        data = await r.json();
      } catch (_) {
        data = null;
      }
      status.textContent = describeError(data);
    } catch (_) {
      status.textContent = 'Er ging iets mis. / Something went wrong.';
    } finally {
      button.disabled = false;
    }
  });
}
