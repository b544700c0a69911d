import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App, firstScreen } from './App';

// Once what the first screen needs is in (or has taken too long): see App.tsx.
void firstScreen.then(() =>
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <App />
    </StrictMode>,
  ),
);
